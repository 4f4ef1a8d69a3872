package forecast

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCalendarAt(t *testing.T) {
	cal := CzechCalendar(prague(t), []int{2022}, day("2022-03-15")) // one extra configured holiday
	utc := func(s string) time.Time {
		x, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		at   string
		want Day
	}{
		// Easter Monday, 10:00 CEST.
		{"2022-04-18T08:00:00Z", Day{Hour: 10, Weekday: time.Monday, Holiday: true, Off: true, DateOnly: "2022-04-18"}},
		// Local midnight of Good Friday is 22:00 UTC the day before.
		{"2022-04-14T22:00:00Z", Day{Hour: 0, Weekday: time.Friday, Holiday: true, Off: true, DateOnly: "2022-04-15"}},
		{"2022-04-14T21:00:00Z", Day{Hour: 23, Weekday: time.Thursday, DateOnly: "2022-04-14"}},
		// The configured extra holiday.
		{"2022-03-15T12:00:00Z", Day{Hour: 13, Weekday: time.Tuesday, Holiday: true, Off: true, DateOnly: "2022-03-15"}},
		// A plain Saturday, the academic summer, the winter break over the new year.
		{"2022-03-19T12:00:00Z", Day{Hour: 13, Weekday: time.Saturday, Off: true, DateOnly: "2022-03-19"}},
		{"2022-07-14T12:00:00Z", Day{Hour: 14, Weekday: time.Thursday, Summer: true, DateOnly: "2022-07-14"}},
		{"2022-06-30T12:00:00Z", Day{Hour: 14, Weekday: time.Thursday, DateOnly: "2022-06-30"}},
		{"2022-12-28T12:00:00Z", Day{Hour: 13, Weekday: time.Wednesday, Break: true, DateOnly: "2022-12-28"}},
		{"2021-12-31T23:30:00Z", Day{Hour: 0, Weekday: time.Saturday, Holiday: true, Off: true, Break: true, DateOnly: "2022-01-01"}},
		// Spring forward: 01:00 UTC is 03:00 CEST.
		{"2022-03-27T01:00:00Z", Day{Hour: 3, Weekday: time.Sunday, Off: true, DateOnly: "2022-03-27"}},
	}
	for _, tt := range tests {
		got := cal.At(utc(tt.at))
		if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Day{}, "Local", "DayOfYr")); d != "" {
			t.Errorf("At(%s) (-want +got):\n%s", tt.at, d)
		}
	}
}

func TestDailyOriginsAcrossDST(t *testing.T) {
	cal := testCalendar(t)
	p := &Panel{Start: time.Date(2022, 3, 24, 0, 0, 0, 0, time.UTC), Hours: 24 * 8}
	got := DailyOrigins(p, cal, 0, p.Hours)
	var local []string
	for i, o := range got {
		local = append(local, p.Time(o).In(cal.Location).Format("01-02 15:04"))
		if i > 0 {
			step := o - got[i-1]
			want := 24
			if p.Time(o).In(cal.Location).Day() == 28 {
				want = 23 // the day of 27 March has 23 hours
			}
			if step != want {
				t.Errorf("origin %s: %d hours after the previous, want %d", local[i], step, want)
			}
		}
	}
	want := []string{"03-25 00:00", "03-26 00:00", "03-27 00:00", "03-28 00:00", "03-29 00:00", "03-30 00:00", "03-31 00:00", "04-01 00:00"}
	if d := cmp.Diff(want, local); d != "" {
		t.Errorf("origins (-want +got):\n%s", d)
	}
}

func TestParseDates(t *testing.T) {
	got, err := ParseDates(" 2022-03-15, ,2023-01-02")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]time.Time{day("2022-03-15"), day("2023-01-02")}, got); d != "" {
		t.Error(d)
	}
	if _, err := ParseDates("2022-13-01"); err == nil {
		t.Error("bad month accepted")
	}
}

// TestBuildPanelGaps: a day without any row is a gap in every series, an
// hour in which one app is silent is zero for that app.
func TestBuildPanelGaps(t *testing.T) {
	start := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []tablerow.TrafficHourly
	for h := range 72 {
		if h >= 24 && h < 48 {
			continue // the second day is missing
		}
		hr := start.Add(time.Duration(h) * time.Hour)
		rows = append(rows, tablerow.TrafficHourly{Hour: hr, App: "a", Category: "A", Flows: 10, Bytes: 100, BytesRev: 900})
		if h%2 == 0 {
			rows = append(rows, tablerow.TrafficHourly{Hour: hr, App: "b", Category: "B", Flows: 1, Bytes: 10, BytesRev: 0})
		}
		if h == 0 {
			rows = append(rows, tablerow.TrafficHourly{Hour: hr, App: "tiny", Category: "B", Flows: 1})
		}
	}
	p, err := BuildPanel(rows, PanelOptions{Metrics: []string{"flows", "bytes"}, MinAppShare: 0.04, MinCategoryShare: 0.04})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range p.Series {
		keys = append(keys, s.Key())
	}
	want := []string{"total/flows", "category:A/flows", "category:B/flows", "app:a/flows", "app:b/flows",
		"total/bytes", "category:A/bytes", "category:B/bytes", "app:a/bytes", "app:b/bytes"}
	if d := cmp.Diff(want, keys); d != "" {
		t.Fatalf("series (-want +got):\n%s", d)
	}
	if p.Hours != 72 {
		t.Fatalf("hours %d, want 72", p.Hours)
	}
	get := func(key string, h int) float64 {
		for _, s := range p.Series {
			if s.Key() == key {
				return s.Values[h]
			}
		}
		t.Fatalf("no series %s", key)
		return 0
	}
	for _, key := range keys {
		if v := get(key, 30); !math.IsNaN(v) {
			t.Errorf("%s at a missing hour = %g, want NaN (a gap, not zero)", key, v)
		}
	}
	checks := []struct {
		key  string
		h    int
		want float64
	}{
		{"app:b/flows", 1, 0}, // observed hour, b silent: zero traffic
		{"app:b/flows", 2, 1},
		{"total/flows", 0, 12}, // includes the app too small for its own series
		{"total/bytes", 2, 1010},
		{"category:B/flows", 0, 2},
		{"app:a/bytes", 50, 1000},
	}
	for _, c := range checks {
		if got := get(c.key, c.h); got != c.want {
			t.Errorf("%s at hour %d = %g, want %g", c.key, c.h, got, c.want)
		}
	}
	if p.Observed(30) || !p.Observed(1) {
		t.Error("Observed does not follow the gap")
	}
}

func TestAggregator(t *testing.T) {
	a := NewAggregator()
	t0 := time.Date(2022, 1, 3, 10, 5, 0, 0, time.UTC)
	a.Add(&cesnet.Flow{TimeFirst: t0, App: "x", Category: "C", Bytes: 1, BytesRev: 2, Packets: 3, PacketsRev: 4, Week: "2022-W01"})
	a.Add(&cesnet.Flow{TimeFirst: t0.Add(50 * time.Minute), App: "x", Category: "C", Bytes: 10, BytesRev: 20, Packets: 30, PacketsRev: 40, Week: "2022-W01"})
	a.Add(&cesnet.Flow{TimeFirst: t0.Add(55 * time.Minute), App: "x", Category: "C", Bytes: 5, Week: "2022-W01"})
	h := t0.Truncate(time.Hour)
	want := []tablerow.TrafficHourly{
		{Hour: h, App: "x", Category: "C", Flows: 2, Bytes: 11, BytesRev: 22, Packets: 33, PacketsRev: 44, Week: "2022-W01"},
		{Hour: h.Add(time.Hour), App: "x", Category: "C", Flows: 1, Bytes: 5, Week: "2022-W01"},
	}
	if d := cmp.Diff(want, a.Rows()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestAggregatorWeekIsFileWeek: a flow at 23:30 UTC on Sunday 2022-03-13
// (ISO week 10) read from Monday's file (week 11, Prague midnight is 23:00
// UTC) lands in week 11, as in the aggregate job (tablerow.HourlyKey), not in
// the week of its UTC hour.
func TestAggregatorWeekIsFileWeek(t *testing.T) {
	monday := time.Date(2022, 3, 14, 0, 0, 0, 0, time.UTC)
	f := cesnet.Flow{TimeFirst: time.Date(2022, 3, 13, 23, 30, 0, 0, time.UTC), App: "x", Category: "C", Week: cesnet.WeekLabel(monday)}
	a := NewAggregator()
	a.Add(&f)
	rows := a.Rows()
	hour, week := tablerow.HourlyKey(f.TimeFirst, f.Week)
	if len(rows) != 1 || rows[0].Week != "2022-W11" || rows[0].Week != week || !rows[0].Hour.Equal(hour) {
		t.Fatalf("rows %+v, want one row in 2022-W11 at %s (the aggregate job's key)", rows, hour)
	}
}

func TestSeasonalNaiveSkipsGaps(t *testing.T) {
	nan := math.NaN()
	v := make([]float64, 400)
	for i := range v {
		v[i] = float64(i)
	}
	for i := 200; i < 224; i++ { // a missing day exactly one week before the forecast day
		v[i] = nan
	}
	o := 368
	p := &Panel{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), Hours: o, Series: []Series{{Name: "total", Metric: "flows", Values: v[:o]}}}
	got, err := SeasonalNaive{168}.Predict(t.Context(), p, nil, []int{o})
	if err != nil {
		t.Fatal(err)
	}
	for h := range Horizon {
		// o+h−168 = 200+h is a gap: two weeks back instead.
		if want := float64(o + h - 336); got[0][0][h] != want {
			t.Fatalf("h%d: %g, want %g", h+1, got[0][0][h], want)
		}
	}
	got, _ = SeasonalNaive{24}.Predict(t.Context(), p, nil, []int{o})
	if want := float64(o - 24); got[0][0][0] != want {
		t.Errorf("snaive24 h1: %g, want %g", got[0][0][0], want)
	}
}
