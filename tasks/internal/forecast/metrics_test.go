package forecast

import (
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var approx = cmpopts.EquateApprox(0, 1e-9)

func band(point, lo80, hi80, lo95, hi95 []float64) Band {
	return Band{Point: point, Lower: [2][]float64{lo80, lo95}, Upper: [2][]float64{hi80, hi95}}
}

func TestScorerHandComputed(t *testing.T) {
	// Errors y−ŷ: −2, 2, −1, 10.
	actual := []float64{10, 20, 0, 40}
	b := band([]float64{12, 18, 1, 30},
		[]float64{9.5, 19, 0, 35}, []float64{9.9, 21, 2, 45}, // 10 falls outside the 80 % band
		[]float64{5, 10, 0, 20}, []float64{15, 30, 3, 60})
	var sc Scorer
	sc.Add(actual, b, 5)
	want := Metrics{
		Origins: 1, Hours: 4,
		RMSE:        math.Sqrt(109.0 / 4),
		MAE:         15.0 / 4,
		MAPE:        100 * (0.2 + 0.1 + 0.25) / 3,                  // the zero hour is left out
		SMAPE:       100 * (4.0/22 + 4.0/38 + 2.0/1 + 20.0/70) / 4, // 0 vs 1 counts 200 %
		MASE:        (15.0 / 4) / 5,
		Coverage80:  75,
		Coverage95:  100,
		PeakCapture: 0, // peak hour right, but 30 is 25 % below 40
		PeakDays:    1,
		PeakHour:    100,
		PeakVolume:  0,
		// No peak threshold was given: peak events are undefined.
		PeakEventRecall: math.NaN(), PeakEventPrecision: math.NaN(),
	}
	if d := cmp.Diff(want, sc.Metrics(), approx, cmpopts.EquateNaNs()); d != "" {
		t.Errorf("after one origin (-want +got):\n%s", d)
	}

	// A second origin with a caught peak, a gap and no usable scale.
	actual2 := []float64{10, math.NaN(), 5, 40}
	sc.Add(actual2, band([]float64{10, 7, 5, 39}, nil, nil, nil, nil), 0)
	got := sc.Metrics()
	if got.Origins != 2 || got.Hours != 7 {
		t.Errorf("origins, hours = %d, %d; want 2, 7", got.Origins, got.Hours)
	}
	if got.PeakDays != 1 {
		t.Errorf("a day with a gap must not count for peak capture: peak days %d", got.PeakDays)
	}
	if !cmp.Equal(got.MASE, 0.75, approx) {
		t.Errorf("MASE %g: an origin with scale 0 must be left out", got.MASE)
	}
	if !cmp.Equal(got.Coverage80, 75.0, approx) {
		t.Errorf("coverage %g: forecasts without bands must be left out", got.Coverage80)
	}
	if !cmp.Equal(got.RMSE, math.Sqrt((109.0+1)/7), approx) {
		t.Errorf("RMSE %g", got.RMSE)
	}
}

func TestPeakHit(t *testing.T) {
	tests := []struct {
		name             string
		actual, point    []float64
		hour, volume, ok bool
	}{
		{"exact", []float64{1, 5, 2}, []float64{1, 5, 2}, true, true, true},
		{"one hour early, 8 % low", []float64{1, 2, 10, 3}, []float64{1, 9.2, 9, 3}, true, true, true},
		{"two hours late, right volume", []float64{10, 2, 1, 3}, []float64{1, 2, 10, 3}, false, true, true},
		{"volume 11 % high", []float64{1, 10, 1}, []float64{1, 11.1, 1}, true, false, true},
		{"volume exactly 10 % low", []float64{1, 10, 1}, []float64{1, 9, 1}, true, true, true},
		{"silent day", []float64{0, 0, 0}, []float64{1, 2, 1}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hour, volume, ok := peakHit(tt.actual, tt.point)
			if hour != tt.hour || volume != tt.volume || ok != tt.ok {
				t.Errorf("peakHit = %v, %v, %v; want %v, %v, %v", hour, volume, ok, tt.hour, tt.volume, tt.ok)
			}
		})
	}
}

func TestMASEScale(t *testing.T) {
	nan := math.NaN()
	v := []float64{1, 2, 4, 8, nan, 3, 5}
	tests := []struct {
		o, season int
		want      float64
	}{
		{o: 4, season: 2, want: (3 + 6) / 2.0},         // pairs (2,0), (3,1)
		{o: 7, season: 2, want: (3 + 6 + 5) / 3.0},     // (4,2) and (6,4) touch the gap
		{o: 7, season: 1, want: (1 + 2 + 4 + 2) / 4.0}, // |2−1|, |4−2|, |8−4|, |5−3|
		{o: 2, season: 2, want: nan},                   // no pair before the origin
		{o: 100, season: 2, want: (3 + 6 + 5) / 3.0},   // an origin past the end
	}
	for _, tt := range tests {
		got := MASEScale(v, tt.o, tt.season)
		if !cmp.Equal(got, tt.want, approx, cmpopts.EquateNaNs()) {
			t.Errorf("MASEScale(o=%d, season=%d) = %g, want %g", tt.o, tt.season, got, tt.want)
		}
	}
}

func TestConformalQuantile(t *testing.T) {
	scores := func() []float64 { return []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1} }
	tests := []struct {
		level float64
		want  float64
	}{
		{0.80, 9},  // ⌈11·0.8⌉ = 9th smallest
		{0.50, 6},  // ⌈5.5⌉ = 6
		{0.95, 10}, // ⌈10.45⌉ = 11 > n: the largest
		{0.0, 1},
	}
	for _, tt := range tests {
		if got := ConformalQuantile(scores(), tt.level); got != tt.want {
			t.Errorf("level %.2f: %g, want %g", tt.level, got, tt.want)
		}
	}
	if got := ConformalQuantile(nil, 0.8); !math.IsNaN(got) {
		t.Errorf("no scores: %g, want NaN", got)
	}
}

func TestSummarize(t *testing.T) {
	a, b := &Scorer{}, &Scorer{}
	pt := []float64{10, 10}
	// a: MAE 0.25 / scale 0.25 = MASE 1, both hours in both bands, peak caught
	// (an hour early, 10 vs 10.5).
	a.Add([]float64{10, 10.5}, band(pt, []float64{9, 9}, []float64{11, 11}, []float64{8, 8}, []float64{13, 13}), 0.25)
	// b: MAE 10 / scale 5 = MASE 2, outside the 80 % band, inside the 95 %,
	// peak missed.
	b.Add([]float64{20, 20}, band(pt, []float64{9, 9}, []float64{11, 11}, []float64{8, 8}, []float64{20, 20}), 5)
	a.AddPeakEvents([]float64{10, 10.5}, []float64{11, 11}, 10.2)
	b.AddPeakEvents([]float64{20, 20}, []float64{11, 11}, 15)
	got := Summarize([]*Scorer{a, b})
	want := Metrics{
		Origins: 2, Hours: 4, RMSE: math.NaN(), MAE: math.NaN(),
		MAPE:  (100*(0.5/10.5)/2 + 50) / 2,
		SMAPE: (100*(1/20.5)/2 + 100*(2*10/30.0)) / 2,
		MASE:  1.5, Coverage80: 50, Coverage95: 100, PeakCapture: 50, PeakDays: 2,
		PeakHour: 100, PeakVolume: 50, // b: peak hour 0 for both, 10 vs 20
		// a: events at 10.5 (flagged by 11 ≥ 10.2); b: events at both hours,
		// flagged by neither bound (11 < 15): 1 of 3 events caught, 1 of 2
		// flagged hours an event.
		PeakEventRecall: 100.0 / 3, PeakEventPrecision: 50, PeakEvents: 3, PeakFlags: 2,
	}
	if d := cmp.Diff(want, got, approx, cmpopts.EquateNaNs()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestPeakEvents(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                  string
		actual, upper         []float64
		threshold             float64
		recall, precision     float64 // %
		events, flags, caught int
	}{
		{
			name:   "all caught, nothing else flagged",
			actual: []float64{1, 9, 12, 3}, upper: []float64{2, 9.9, 13, 4}, threshold: 10,
			recall: 100, precision: 100, events: 1, flags: 1, caught: 1,
		},
		{
			// 12 and 15 are events; the bound reaches 10 at hours 1, 2 and
			// 3 but not at the 15.
			name:   "one of two events, one of three flags",
			actual: []float64{15, 5, 12, 8}, upper: []float64{9, 10, 11, 20}, threshold: 10,
			recall: 50, precision: 100.0 / 3, events: 2, flags: 3, caught: 1,
		},
		{
			// An actual equal to the threshold is no event (it must exceed
			// it); an upper bound equal to it flags.
			name:   "ties",
			actual: []float64{10, 10.5}, upper: []float64{10, 10}, threshold: 10,
			recall: 100, precision: 50, events: 1, flags: 2, caught: 1,
		},
		{
			name:   "gaps and missing bounds are left out",
			actual: []float64{nan, 20, 20}, upper: []float64{30, nan, 30}, threshold: 10,
			recall: 100, precision: 100, events: 1, flags: 1, caught: 1,
		},
		{
			name:   "no event, no flag",
			actual: []float64{1, 2}, upper: []float64{3, 4}, threshold: 10,
			recall: nan, precision: nan,
		},
		{
			name:   "no threshold",
			actual: []float64{100, 200}, upper: []float64{300, 400}, threshold: nan,
			recall: nan, precision: nan,
		},
		{
			name:   "no bounds",
			actual: []float64{100, 200}, upper: nil, threshold: 10,
			recall: nan, precision: nan,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sc Scorer
			sc.AddPeakEvents(tt.actual, tt.upper, tt.threshold)
			m := sc.Metrics()
			got := []float64{m.PeakEventRecall, m.PeakEventPrecision, float64(m.PeakEvents), float64(m.PeakFlags), float64(sc.caught)}
			want := []float64{tt.recall, tt.precision, float64(tt.events), float64(tt.flags), float64(tt.caught)}
			if d := cmp.Diff(want, got, approx, cmpopts.EquateNaNs()); d != "" {
				t.Errorf("recall, precision, events, flags, caught (-want +got):\n%s", d)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		x    []float64
		q    float64
		want float64
	}{
		{[]float64{5, 1, 4, 2, 3}, 0.5, 3},
		{[]float64{5, 1, 4, 2, 3}, 0.95, 4.8}, // rank 3.8: 4 + 0.8·(5−4)
		{[]float64{10, 20}, 0.95, 19.5},
		{[]float64{7}, 0.95, 7},
		{[]float64{3, 1, 2}, 1, 3},
		{[]float64{3, 1, 2}, 0, 1},
		{nil, 0.95, math.NaN()},
	}
	for _, tt := range tests {
		if got := Percentile(slices.Clone(tt.x), tt.q); !cmp.Equal(got, tt.want, approx, cmpopts.EquateNaNs()) {
			t.Errorf("Percentile(%v, %g) = %g, want %g", tt.x, tt.q, got, tt.want)
		}
	}
}

func TestPeakThreshold(t *testing.T) {
	// Five weeks of hours: week k (0-based) holds the values 1000·k + i,
	// i = 0 … 167, so the threshold at origin o is the 95th percentile of
	// the four weeks before it.
	v := make([]float64, 5*168)
	for i := range v {
		v[i] = float64(1000*(i/168) + i%168)
	}
	nan := math.NaN()
	withGaps := slices.Clone(v)
	for i := 168; i < 5*168; i++ {
		if i%2 == 0 {
			withGaps[i] = nan
		}
	}
	tests := []struct {
		name string
		v    []float64
		o    int
		want float64
	}{
		// Weeks 0–3: 672 values, rank 0.95·671 = 637.45, in week 3 at
		// i = 637.45 − 504 = 133.45: 3133 + 0.45.
		{"four weeks", v, 4 * 168, 3133.45},
		{"the window trails the origin", v, 5 * 168, 4133.45}, // weeks 1–4
		// One week: rank 0.95·167 = 158.65.
		{"one week is enough", v, 168, 158.65},
		{"under a week", v, 167, nan},
		// Week 0 whole (168 values) and the odd hours of weeks 1–3 (84
		// each): 420 values, rank 0.95·419 = 398.05, the 63rd and 64th of
		// week 3: 3125 + 0.05·2.
		{"gaps are left out", withGaps, 4 * 168, 3125.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PeakThreshold(tt.v, tt.o); !cmp.Equal(got, tt.want, approx, cmpopts.EquateNaNs()) {
				t.Errorf("PeakThreshold(o=%d) = %g, want %g", tt.o, got, tt.want)
			}
		})
	}
}
