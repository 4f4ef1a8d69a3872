package classify_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// BenchmarkFrozenDecay measures how a frozen no-SNI classifier decays on
// generated data: trained on June 2022 (weeks W22–W25, validation W26),
// tested on July, August and September (accuracy over the flows of its
// classes, the reject rule ignored), as CESNET's month evaluation of
// CESNET-TLS-Year22 (LightGBM: ≈94 % on June, then 89.2 / 85.2 / 80.7 %).
// DECAY_FLOWS sets the generated flows per day (default 3000);
// DECAY_NO_DRIFT=1 generates without the per-app drift calendar, for the
// comparison. Run with `make bench-decay`.
func BenchmarkFrozenDecay(b *testing.B) {
	ctx := context.Background()
	flows := 3000
	if v, err := strconv.Atoi(os.Getenv("DECAY_FLOWS")); err == nil && v > 0 {
		flows = v
	}
	script := synth.DefaultScript()
	if os.Getenv("DECAY_NO_DRIFT") == "1" {
		script.Drifts = nil
	}
	for b.Loop() {
		raw := b.TempDir()
		start := time.Date(2022, 5, 30, 0, 0, 0, 0, time.UTC)
		t0 := time.Now()
		if _, err := synth.Generate(ctx, synth.Config{Out: raw, Start: start, Days: 124, FlowsPerDay: flows, Seed: 11,
			Compress: "none", Script: script}); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated 2022-05-30..2022-09-30 at %d flows/day in %.0fs", flows, time.Since(t0).Seconds())
		src, err := classify.NewRawSource(raw, featuredef.FeatureConfig{})
		if err != nil {
			b.Fatal(err)
		}
		out := filepath.Join(b.TempDir(), "models")
		res, err := classify.Train(ctx, src, classify.TrainConfig{Out: out, FeatureSets: []classify.FeatureSet{classify.FeaturesNoSNI},
			Members: []string{"xgb-hier"}, Split: classify.SplitConfig{TrainWeeks: 4, ValWeeks: 1, TestWeeks: 1},
			MaxTrainRows: 60000, MaxValRows: 20000, MaxRowsPerApp: 600, MinClassRows: 20, Seed: 1,
			Member: classify.MemberConfig{XGB: classify.XGBConfig{Rounds: 40, MaxDepth: 7}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("trained on %v, validated on %v: %d classes, %d rows", res.Train, res.Val, res.Classes, res.TrainRows)
		bundle, err := classify.LoadBundle(filepath.Join(out, string(classify.FeaturesNoSNI)))
		if err != nil {
			b.Fatal(err)
		}
		classes := map[string]int{}
		for i, c := range bundle.Manifest.Classes {
			classes[c] = i
		}
		var months []float64
		for _, m := range []struct{ name, from, to string }{
			{"june-val", "2022-06-27", "2022-07-03"}, {"july", "2022-07-04", "2022-07-31"},
			{"august", "2022-08-01", "2022-08-31"}, {"september", "2022-09-01", "2022-09-30"},
		} {
			from, _ := time.Parse(cesnet.DayLayout, m.from)
			to, _ := time.Parse(cesnet.DayLayout, m.to)
			rows := sample(b, src, from, to, classes, 20000)
			p, err := bundle.Predict(ctx, rows)
			if err != nil {
				b.Fatal(err)
			}
			right := 0
			for i, r := range rows {
				if p.Class[i] == classes[r.App] {
					right++
				}
			}
			acc := float64(right) / float64(len(rows))
			months = append(months, acc)
			b.ReportMetric(100*acc, "acc_"+m.name+"_%")
			b.Logf("%-9s %s..%s: accuracy %.1f %% on %d flows", m.name, m.from, m.to, 100*acc, len(rows))
		}
		slope := (months[3] - months[0]) / 3
		b.ReportMetric(100*slope, "points/month")
		b.Logf("decay June→September: %+.1f points a month (published: 94 → 80.7 %%, −4.4 a month)", 100*slope)
		bundle.Close()
	}
}

// sample draws up to n rows of the days [from, to] whose app is a class.
func sample(b *testing.B, src classify.Source, from, to time.Time, classes map[string]int, n int) []tablerow.FlowFeatures {
	rng := rand.New(rand.NewPCG(5, 5))
	var rows []tablerow.FlowFeatures
	var seen int64
	err := src.Scan(context.Background(), from, to, func(r *tablerow.FlowFeatures) error {
		if _, ok := classes[r.App]; !ok {
			return nil
		}
		seen++
		row := *r
		row.Stats, row.PHist, row.PPI = append([]float32(nil), r.Stats...), append([]float32(nil), r.PHist...), append([]float32(nil), r.PPI...)
		if len(rows) < n {
			rows = append(rows, row)
		} else if j := rng.Int64N(seen); j < int64(n) {
			rows[j] = row
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(rows) == 0 {
		b.Fatalf("no rows of %s..%s", from, to)
	}
	return rows
}
