package forecast

import (
	"math"
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
	}
	if d := cmp.Diff(want, sc.Metrics(), approx); d != "" {
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
	got := Summarize([]*Scorer{a, b})
	want := Metrics{
		Origins: 2, Hours: 4, RMSE: math.NaN(), MAE: math.NaN(),
		MAPE:  (100*(0.5/10.5)/2 + 50) / 2,
		SMAPE: (100*(1/20.5)/2 + 100*(2*10/30.0)) / 2,
		MASE:  1.5, Coverage80: 50, Coverage95: 100, PeakCapture: 50, PeakDays: 2,
		PeakHour: 100, PeakVolume: 50, // b: peak hour 0 for both, 10 vs 20
	}
	if d := cmp.Diff(want, got, approx, cmpopts.EquateNaNs()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
