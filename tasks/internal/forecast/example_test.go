package forecast_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/forecast"
)

func ExampleConformalQuantile() {
	// Absolute calibration residuals of ten forecasts: the 80 % interval
	// half-width is the ⌈(10+1)·0.8⌉ = 9th smallest.
	res := []float64{0.05, 0.01, 0.30, 0.12, 0.07, 0.02, 0.09, 0.15, 0.04, 0.11}
	fmt.Println(forecast.ConformalQuantile(res, 0.80))
	// Output: 0.15
}

func FuzzParseDates(f *testing.F) {
	f.Add("2022-01-01,2022-12-24")
	f.Add(" 2023-04-10 , ,")
	f.Add("2022-02-30")
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := forecast.ParseDates(s)
		if err != nil {
			return
		}
		for _, d := range ds {
			if !strings.Contains(s, d.Format(time.DateOnly)) {
				t.Fatalf("ParseDates(%q) gave %s, not in the input", s, d.Format(time.DateOnly))
			}
		}
	})
}
