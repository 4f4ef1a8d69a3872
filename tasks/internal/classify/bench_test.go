package classify

import (
	"context"
	"flag"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

var (
	benchBundle = flag.String("bundle", "", "BenchmarkBundlePredict: a trained bundle folder (default: train a small synthetic one)")
	benchRaw    = flag.String("raw", "", "BenchmarkBundlePredict: raw dataset to draw flows from (with -bundle)")
	benchRows   = flag.Int("trainrows", 5000, "BenchmarkTrain: training rows (e.g. 100000)")
)

// peakRSS returns the process's peak resident set size in bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// benchSetup returns a bundle and flows to classify.
func benchSetup(b *testing.B) (*Bundle, []tablerow.FlowFeatures) {
	ctx := context.Background()
	if *benchBundle != "" {
		bd, err := LoadBundle(*benchBundle)
		if err != nil {
			b.Fatal(err)
		}
		if *benchRaw == "" {
			b.Fatal("-bundle needs -raw")
		}
		src, err := NewRawSource(*benchRaw, featuredef.FeatureConfig{})
		if err != nil {
			b.Fatal(err)
		}
		days, _ := src.Days(ctx)
		ws := Weeks(days)
		rows, _, err := sampleWindow(ctx, src, ws[len(ws)-1:], 4096, 0, 1, nil)
		if err != nil {
			b.Fatal(err)
		}
		return bd, rows
	}
	root := b.TempDir()
	apps := classifytest.Apps(117) // every provider group of the app table
	if _, err := classifytest.WriteRaw(ctx, root, 1, apps, classifytest.Weekly(4, 3000)); err != nil {
		b.Fatal(err)
	}
	src, err := NewRawSource(root, featuredef.FeatureConfig{})
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "m")
	cfg := TrainConfig{Out: out, FeatureSets: []FeatureSet{FeaturesSNI}, Split: SplitConfig{TrainWeeks: 2}, Seed: 1,
		Member: MemberConfig{XGB: XGBConfig{EarlyStop: 1000}, Seqnet: SeqnetConfig{Train: seqnet.TrainConfig{MaxEpochs: 1}}}}
	if _, err := Train(ctx, src, cfg, nil); err != nil {
		b.Fatal(err)
	}
	bd, err := LoadBundle(filepath.Join(out, "sni"))
	if err != nil {
		b.Fatal(err)
	}
	return bd, classifytest.Rows(9, apps, nil, 4096, day0, classifytest.Options{})
}

// BenchmarkBundlePredict measures inference of the whole bundle and of its
// parts in flows per CPU-second (flows/s/core): XGBoost runs on one thread.
// Without -bundle it trains a default bundle on synthetic flows of 117 apps
// (all rounds, one net epoch); with -bundle and -raw it measures a real one.
func BenchmarkBundlePredict(b *testing.B) {
	ctx := context.Background()
	bd, rows := benchSetup(b)
	defer bd.Close()
	if err := bd.SetThreads(1); err != nil {
		b.Fatal(err)
	}
	b.Logf("bundle: %d classes, members %v, %d flows per call", len(bd.Manifest.Classes), bd.Manifest.Members, len(rows))
	measure := func(b *testing.B, f func() error) {
		c0 := testenv.CPUTime().Seconds()
		b.ResetTimer()
		for b.Loop() {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		cpu := testenv.CPUTime().Seconds() - c0
		n := float64(b.N * len(rows))
		b.ReportMetric(n/cpu, "flows/s/core")
		b.ReportMetric(n/b.Elapsed().Seconds(), "flows/s")
	}
	b.Run("transforms", func(b *testing.B) {
		measure(b, func() error {
			in := bd.Transforms.NewInputs(rows, nil)
			in.Tree()
			in.Net()
			return nil
		})
	})
	in := bd.Transforms.NewInputs(rows, nil)
	in.Tree()
	in.Net()
	var probs [][]float32
	for i, m := range bd.Members {
		b.Run(bd.Manifest.Members[i], func(b *testing.B) {
			measure(b, func() error {
				_, err := m.PredictProba(ctx, in)
				return err
			})
		})
		p, err := m.PredictProba(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		probs = append(probs, p)
	}
	b.Run("stacking", func(b *testing.B) {
		dst := make([]float32, len(probs[0]))
		measure(b, func() error {
			_, err := bd.Stacking.Combine(probs, len(bd.Manifest.Classes), dst)
			return err
		})
	})
	b.Run("bundle", func(b *testing.B) {
		measure(b, func() error {
			_, err := bd.Predict(ctx, rows)
			return err
		})
	})
}

// BenchmarkTrain measures training of the default members on -trainrows
// synthetic flows of 60 apps (one bundle, no-SNI): wall and CPU seconds and the peak
// resident memory of the process.
func BenchmarkTrain(b *testing.B) {
	ctx := context.Background()
	n := *benchRows
	root := b.TempDir()
	apps := classifytest.Apps(60)
	days := classifytest.Weekly(4, n/2)
	if _, err := classifytest.WriteRaw(ctx, root, 1, apps, days); err != nil {
		b.Fatal(err)
	}
	src, err := NewRawSource(root, featuredef.FeatureConfig{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c0, t0 := testenv.CPUTime().Seconds(), time.Now()
		cfg := TrainConfig{Out: filepath.Join(b.TempDir(), "m"),
			FeatureSets: []FeatureSet{FeaturesNoSNI}, Split: SplitConfig{TrainWeeks: 2}, MaxTrainRows: n, MaxValRows: 5000, Seed: 1}
		res, err := Train(ctx, src, cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "wall-s")
		b.ReportMetric(testenv.CPUTime().Seconds()-c0, "cpu-s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-MiB")
		b.ReportMetric(float64(res.TrainRows), "train-rows")
		b.Logf("val macro-F1 %v", res.Bundles[0].ValMacroF1)
	}
}
