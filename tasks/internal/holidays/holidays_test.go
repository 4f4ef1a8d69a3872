package holidays_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/tasks/internal/holidays"
)

func TestEasterSunday(t *testing.T) {
	for year, want := range map[int]string{
		2000: "2000-04-23", 2019: "2019-04-21", 2022: "2022-04-17", 2023: "2023-04-09",
		2024: "2024-03-31", 2025: "2025-04-20", 2038: "2038-04-25",
	} {
		if got := holidays.EasterSunday(year).Format(time.DateOnly); got != want {
			t.Errorf("EasterSunday(%d) = %s, want %s", year, got, want)
		}
	}
}

func TestCzech(t *testing.T) {
	dates := func(ts []time.Time) []string {
		var out []string
		for _, d := range ts {
			out = append(out, d.Format(time.DateOnly))
		}
		return out
	}
	tests := []struct {
		year int
		want []string
	}{
		{2022, []string{"2022-01-01", "2022-04-15", "2022-04-18", "2022-05-01", "2022-05-08", "2022-07-05", "2022-07-06",
			"2022-09-28", "2022-10-28", "2022-11-17", "2022-12-24", "2022-12-25", "2022-12-26"}},
		{2024, []string{"2024-01-01", "2024-03-29", "2024-04-01", "2024-05-01", "2024-05-08", "2024-07-05", "2024-07-06",
			"2024-09-28", "2024-10-28", "2024-11-17", "2024-12-24", "2024-12-25", "2024-12-26"}},
		// Good Friday became a holiday in 2016.
		{2015, []string{"2015-01-01", "2015-04-06", "2015-05-01", "2015-05-08", "2015-07-05", "2015-07-06",
			"2015-09-28", "2015-10-28", "2015-11-17", "2015-12-24", "2015-12-25", "2015-12-26"}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, dates(holidays.Czech(tt.year))); d != "" {
			t.Errorf("Czech(%d) (-want +got):\n%s", tt.year, d)
		}
	}
}

func ExampleCzech() {
	for _, d := range holidays.Czech(2022)[:3] {
		fmt.Println(d.Format("Mon 2006-01-02"))
	}
	// Output:
	// Sat 2022-01-01
	// Fri 2022-04-15
	// Mon 2022-04-18
}
