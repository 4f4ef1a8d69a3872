package forecast

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPeakFactor(t *testing.T) {
	tests := []struct {
		name   string
		ratios []float64
		want   float64
	}{
		{"no days", nil, 1},
		{"already right", []float64{1, 1.05, 0.95}, 1},
		// 1.89 (= 0.9·2.1) and 2.2 (= 1.1·2) both catch all three days;
		// 1.89 is nearer 1.
		{"flattened peaks", []float64{2, 2, 2.1}, 1.89},
		// 1 catches one day, 2.79 and 3.3 two: the nearer.
		{"most days win", []float64{1.05, 3, 3.1}, 2.79},
		// Every factor catches one day at most: 1 catches 0.95.
		{"a tie keeps 1", []float64{0.95, 5}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PeakFactor(slices.Clone(tt.ratios)); !cmp.Equal(got, tt.want, approx) {
				t.Errorf("PeakFactor(%v) = %g, want %g", tt.ratios, got, tt.want)
			}
		})
	}
}

func TestPeakRuleApply(t *testing.T) {
	point := []float64{1, 5, 3}
	pc := peakCtx{naive: 8, recent: 4, hour: 2}
	tests := []struct {
		name string
		rule peakRule
		pc   peakCtx
		want []float64
	}{
		{"no rule", peakRule{}, pc, []float64{1, 5, 3}},
		{"base peak raised", peakRule{factor: 1.2}, pc, []float64{1, 6, 3}},
		{"naive peak at the base's peak hour", peakRule{volume: peakNaive, factor: 0.5}, pc, []float64{1, 4, 3}},
		{"no naive peak", peakRule{volume: peakNaive, factor: 2}, peakCtx{naive: math.NaN(), hour: -1}, []float64{1, 5, 3}},
		// The recent peak hour carries the base's peak; the old peak
		// hour drops just below it.
		{"recent hour", peakRule{hour: peakRecent, factor: 1}, pc, []float64{1, math.Nextafter(5, 0), 5}},
		{"recent hour and volume", peakRule{hour: peakRecent, volume: peakRecent, factor: 1.5}, pc, []float64{1, 5, 6}},
		{"no recent hour keeps the base's", peakRule{hour: peakRecent, factor: 2}, peakCtx{hour: -1}, []float64{1, 10, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rule.apply(point, tt.pc)
			if d := cmp.Diff(tt.want, got, approx); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if tt.rule.factor > 0 && !slices.Equal(got, point) {
				at := argmax(point)
				if tt.rule.hour == peakRecent && tt.pc.hour >= 0 {
					at = tt.pc.hour
				}
				if argmax(got) != at {
					t.Errorf("peak at hour %d, want %d", argmax(got), at)
				}
			}
		})
	}
	if point[1] != 5 {
		t.Errorf("apply changed its input: %v", point)
	}
}

// TestPeakContext: the recent peak hour is the centre of the busiest
// three-hour window of the same kind of day's peaks, the recent volume the
// median daily maximum; days of the other kind and days with a gap are
// skipped.
func TestPeakContext(t *testing.T) {
	cal := testCalendar(t)
	// Mon 2022-01-03 … : working days peak at hours 9, 10, 10, 11, 14;
	// the weekend peaks at 20.
	p := &Panel{Start: time.Date(2022, 1, 2, 23, 0, 0, 0, time.UTC), Hours: 14 * 24}
	v := make([]float64, p.Hours)
	for i := range v {
		v[i] = 1
	}
	peaks := map[int]struct {
		hour int
		vol  float64
	}{0: {9, 10}, 1: {10, 20}, 2: {10, 30}, 3: {11, 40}, 4: {14, 50}, 5: {20, 99}, 6: {20, 99}, 7: {9, 60}}
	for d, pk := range peaks {
		v[d*24+pk.hour] = pk.vol
	}
	v[8*24+3] = math.NaN() // Tue of week 2: a gap
	g := newCalGrid(cal, p.Start, -36*24, p.Hours+Horizon)
	o := 9 * 24 // Wed of week 2
	pc := peakContext(v, g, o)
	// Working days before o: Mon 60 (hour 9), [Tue gap], Fri 50 (14),
	// Thu 40 (11), Wed 30 (10), Tue 20 (10), Mon 10 (9).
	// Hours: 9×2, 10×2, 11, 14 → window centred on 10 holds 5.
	if pc.hour != 10 {
		t.Errorf("hour %d, want 10", pc.hour)
	}
	// Latest five maxima: 60, 50, 40, 30, 20 → median 40.
	if pc.recent != 40 {
		t.Errorf("recent %g, want 40", pc.recent)
	}
	// The seasonal naive repeats last Wednesday: maximum 30.
	if pc.naive != 30 {
		t.Errorf("naive %g, want 30", pc.naive)
	}
}

// scaledNaive is the seasonal naive 168 times a factor: a forecaster whose
// daily peaks are off by a known ratio.
type scaledNaive struct{ factor float64 }

func (scaledNaive) Name() string                                 { return "scaled" }
func (scaledNaive) Fit(context.Context, *Panel, *Calendar) error { return nil }
func (m scaledNaive) Predict(ctx context.Context, p *Panel, cal *Calendar, origins []int) ([][][]float64, error) {
	out, err := SeasonalNaive{168}.Predict(ctx, p, cal, origins)
	for _, o := range out {
		for _, f := range o {
			for h := range f {
				f[h] *= m.factor
			}
		}
	}
	return out, err
}

// TestConformalPeaks: a forecaster 25 % low everywhere misses every peak
// volume; with Peaks the calibration finds a factor near 1/0.75 (or the
// seasonal naive's peak), raises only the peak hour, and catches the peaks
// of a nearly noiseless series; the intervals stay those of the base.
func TestConformalPeaks(t *testing.T) {
	cal := testCalendar(t)
	p := synthPanel(t, cal, synthSpec{start: "2022-01-03", days: 42, series: 2, sigma: 0.01, offFactor: 0.4, seed: 5})
	ctx := context.Background()
	plain := &Conformal{Base: scaledNaive{0.75}}
	peaks := &Conformal{Base: scaledNaive{0.75}, Peaks: true}
	rep, err := Backtest(ctx, p, cal, []*Conformal{plain, peaks}, BacktestConfig{Weeks: 1, KeepBands: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Models[0], rep.Models[1]
	// The peak model scored without its peaks is the plain model.
	np := rep.Model("scaled" + NoPeaksSuffix)
	if np == nil {
		t.Fatal("no scaled-nopeaks report")
	}
	if d := cmp.Diff(a.Groups, np.Groups, cmpopts.EquateNaNs()); d != "" {
		t.Errorf("nopeaks scores differ from the plain model's:\n%s", d)
	}
	for s := range p.Series {
		if r := peaks.peak[s]; r.factor == 0 {
			t.Errorf("series %d: no peak rule adopted", s)
		}
	}
	if got := a.Groups["all"].PeakVolume; got != 0 {
		t.Errorf("plain peak volume %.1f %%, want 0 (25 %% low)", got)
	}
	if got := b.Groups["all"].PeakVolume; got < 90 {
		t.Errorf("calibrated peak volume %.1f %%, want ≥ 90", got)
	}
	for k := range b.Bands {
		for s := range p.Series {
			pa, pb := a.Bands[k][s], b.Bands[k][s]
			i := argmax(pa.Point)
			for h := range Horizon {
				if h != i && pa.Point[h] != pb.Point[h] {
					t.Fatalf("origin %d series %d: hour %d changed (%g → %g); only the peak hour %d may", k, s, h, pa.Point[h], pb.Point[h], i)
				}
			}
			if !(pb.Point[i] > pa.Point[i]) {
				t.Fatalf("origin %d series %d: peak %g not raised from %g", k, s, pb.Point[i], pa.Point[i])
			}
			if d := cmp.Diff(pa.Upper, pb.Upper, cmpopts.EquateNaNs()); d != "" {
				t.Fatalf("origin %d series %d: intervals changed:\n%s", k, s, d)
			}
		}
	}
}
