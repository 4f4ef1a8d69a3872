package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

var (
	benchFlows = flag.Int("score-flows", 20000, "BenchmarkScoreDay: mean flows per day of the scored day (make bench: 1400000, a real-size day)")
	benchPeer  = flag.Int("score-peer-rows", 200000, "BenchmarkScoreDay: rows of the day the Python xgboost peer predicts")
	benchModel = flag.String("score-models", "", "BenchmarkScoreDay: score with this model folder (sni/ and no-sni/ bundles, e.g. a demo's models/classifier/as-of-…) instead of training one")
)

// resetPeak resets the process's peak RSS (VmHWM), so that peakMiB
// measures what follows.
func resetPeak(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS (%v): the figure includes the setup", err)
	}
}

// peakMiB reads VmHWM, the peak resident set since the last resetPeak.
func peakMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return math.NaN()
}

// benchLake writes one generated day's flow_features (computed with
// featuredef.Features, as the features job does) into a lake, in files of
// 200000 rows, and returns the day and its flows.
func benchLake(b *testing.B, ctx context.Context, raw, lake string) (time.Time, int64) {
	src, err := classify.NewRawSource(raw, featuredef.FeatureConfig{})
	if err != nil {
		b.Fatal(err)
	}
	days, _ := src.Days(ctx)
	store, err := storage.Open(ctx, storage.JoinURI(lake, classify.FeaturesTable), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	t, err := lakehouse.Create[tablerow.FlowFeatures](ctx, store, lakehouse.CreateOptions{Name: classify.FeaturesTable, PartitionColumns: []string{"week"}}, lakehouse.Options{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := lakehouse.NewWriter[tablerow.FlowFeatures](ctx, t)
	if err != nil {
		b.Fatal(err)
	}
	var adds []lakehouse.Add
	var n int64
	chunk := make([]tablerow.FlowFeatures, 0, 200000)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		a, err := w.WriteDataFile(ctx, map[string]string{"week": chunk[0].Week}, chunk)
		adds = append(adds, a...)
		chunk = chunk[:0]
		return err
	}
	b2 := &batch{rows: chunk}
	err = src.Scan(ctx, days[0], days[len(days)-1], func(r *tablerow.FlowFeatures) error {
		b2.add(r)
		n++
		if len(b2.rows) == cap(b2.rows) {
			chunk = b2.rows
			err := flush()
			b2.rows = chunk
			return err
		}
		return nil
	})
	chunk = b2.rows
	if err == nil {
		err = flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, err := t.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeAppend, Adds: adds}); err != nil {
		b.Fatal(err)
	}
	return days[0], n
}

// BenchmarkScoreDay scores one generated day (-score-flows; a real day is
// ≈1.4 M flows) from a flow_features Delta table into flow_predictions and
// app_usage_daily with each bundle of a classifier with the train task's
// default members and tree settings (trained on one small generated week;
// -score-models scores with a given model folder instead), reporting
// flows/s, flows per CPU-second (flows/s/core) and the peak resident
// memory of the scoring; then each bundle's prediction alone on one
// thread with the CPU of its parts (transforms, members, stacker and
// head). Beside it, the Python peer: xgboost's predict of the same no-SNI
// tree member on the same inputs (for xgb-hier the category booster on
// every row, each category's service booster on the rows routed to it;
// -score-peer-rows of the day), one thread. The sequence net's peer (a
// torch CNN) is left out: torch is not in the project venv.
func BenchmarkScoreDay(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	t0 := time.Now()
	if _, err := synth.Generate(ctx, synth.Config{Out: filepath.Join(dir, "train-raw"), Start: time.Date(2022, 3, 7, 0, 0, 0, 0, time.UTC),
		Days: 21, FlowsPerDay: 3000, Seed: 1, Compress: "gz"}); err != nil {
		b.Fatal(err)
	}
	src, err := classify.NewRawSource(filepath.Join(dir, "train-raw"), featuredef.FeatureConfig{})
	if err != nil {
		b.Fatal(err)
	}
	models := *benchModel
	if models == "" {
		// The production tree settings (DefaultTrainConfig), so the trees
		// are as deep and many as the train task makes them.
		models = filepath.Join(dir, "models")
		mc := classify.DefaultTrainConfig().Member
		mc.Seqnet = classify.SeqnetConfig{MaxRows: 8000, Train: seqnet.TrainConfig{MaxEpochs: 1}}
		if _, err := classify.Train(ctx, src, classify.TrainConfig{Out: models, Split: classify.SplitConfig{TrainWeeks: 1},
			MaxTrainRows: 20000, MaxValRows: 5000, MaxRowsPerApp: 300, Seed: 1, Member: mc}, nil); err != nil {
			b.Fatal(err)
		}
	}
	m, err := LoadDir(models)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.Logf("setup: bundle of %d classes trained in %.0fs", len(m.SNI.Manifest.Classes), time.Since(t0).Seconds())

	t1 := time.Now()
	bigRaw, lake := filepath.Join(dir, "day-raw"), filepath.Join(dir, "lake")
	if _, err := synth.Generate(ctx, synth.Config{Out: bigRaw, Start: time.Date(2022, 3, 29, 0, 0, 0, 0, time.UTC),
		Days: 1, FlowsPerDay: *benchFlows, Seed: 2, Compress: "gz"}); err != nil {
		b.Fatal(err)
	}
	day, flows := benchLake(b, ctx, bigRaw, lake)
	if err := os.RemoveAll(bigRaw); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %s, %d flows generated into flow_features in %.0fs", day.Format(cesnet.DayLayout), flows, time.Since(t1).Seconds())

	for _, v := range []struct {
		name  string
		model *Model
	}{
		{"sni", &Model{Name: "bench", Version: "sni", SNI: m.SNI}},
		{"no-sni", &Model{Name: "bench", Version: "no-sni", NoSNI: m.NoSNI}},
	} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				resetPeak(b)
				c0, w0 := testenv.CPUTime().Seconds(), time.Now()
				res, err := Score(ctx, Config{Lake: lake, Version: -1, From: day, To: day, Force: true}, v.model, nil)
				if err != nil {
					b.Fatal(err)
				}
				cpu, wall := testenv.CPUTime().Seconds()-c0, time.Since(w0).Seconds()
				n := float64(res.ScoredFlows)
				b.ReportMetric(n, "flows")
				b.ReportMetric(wall, "wall-s")
				b.ReportMetric(n/wall, "flows/s")
				b.ReportMetric(n/cpu, "flows/s/core")
				b.ReportMetric(peakMiB(), "peak-MiB")
				b.Logf("%s: %d flows in %.1fs wall, %.1fs CPU; usage share MAE %.4f (top 20 %.4f)", v.name, res.ScoredFlows, wall, cpu,
					float64(res.UsageShareMAE), float64(res.UsageShareMAETop20))
			}
		})
	}
	rows := peerRows(b, ctx, lake, day)
	for _, v := range []struct {
		name   string
		bundle *classify.Bundle
	}{{"predict-sni", m.SNI}, {"predict-no-sni", m.NoSNI}} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				predictBreakdown(b, ctx, v.bundle, rows)
			}
		})
	}
	tree := slices.IndexFunc(m.NoSNI.Manifest.Members, func(k string) bool { return k == "xgb" || k == "xgb-hier" })
	if tree < 0 {
		b.Fatalf("the no-SNI bundle has no tree member (%v)", m.NoSNI.Manifest.Members)
	}
	kind := m.NoSNI.Manifest.Members[tree]
	b.Run("go-"+kind+"-no-sni", func(b *testing.B) {
		// The Go tree member alone on the peer's rows, one thread: the
		// like-for-like figure beside Python's.
		tree := m.NoSNI.Members[tree]
		if err := tree.SetThreads(1); err != nil {
			b.Fatal(err)
		}
		in := m.NoSNI.Transforms.NewInputs(rows, nil)
		in.Tree()
		for b.Loop() {
			c0 := testenv.CPUTime().Seconds()
			if _, err := tree.PredictProba(ctx, in); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(rows)), "flows")
			b.ReportMetric(float64(len(rows))/(testenv.CPUTime().Seconds()-c0), "flows/s/core")
		}
	})
	b.Run("python-xgboost-no-sni", func(b *testing.B) {
		for b.Loop() {
			n, rate := pythonPeer(b, rows, filepath.Join(models, string(classify.FeaturesNoSNI), kind), m.NoSNI)
			b.ReportMetric(float64(n), "flows")
			b.ReportMetric(rate, "flows/s/core")
		}
	})
}

// predictBreakdown predicts rows with bundle in batches of serve's
// default size on one thread and reports flows per CPU-second of the
// whole prediction and of its parts: the transforms, each member, and the
// stacker with the open-set head.
func predictBreakdown(b *testing.B, ctx context.Context, bundle *classify.Bundle, rows []tablerow.FlowFeatures) {
	if err := bundle.SetThreads(1); err != nil {
		b.Fatal(err)
	}
	defer bundle.SetThreads(0)
	const size = 8192
	c0 := testenv.CPUTime().Seconds()
	for i := 0; i < len(rows); i += size {
		if _, err := bundle.Predict(ctx, rows[i:min(i+size, len(rows))]); err != nil {
			b.Fatal(err)
		}
	}
	total := testenv.CPUTime().Seconds() - c0
	parts := make([]float64, 1+len(bundle.Members))
	for i := 0; i < len(rows); i += size {
		c := testenv.CPUTime().Seconds()
		in := bundle.Transforms.NewInputs(rows[i:min(i+size, len(rows))], nil)
		in.Tree()
		in.Net()
		parts[0] += testenv.CPUTime().Seconds() - c
		for j, mem := range bundle.Members {
			c = testenv.CPUTime().Seconds()
			if _, err := mem.PredictProba(ctx, in); err != nil {
				b.Fatal(err)
			}
			parts[1+j] += testenv.CPUTime().Seconds() - c
		}
	}
	n := float64(len(rows))
	b.ReportMetric(n, "flows")
	b.ReportMetric(n/total, "flows/s/core")
	msg := fmt.Sprintf("%s bundle, %d flows, one thread: %.0f flows/s/core; µs of CPU per flow: all %.1f, transforms %.1f",
		bundle.Manifest.FeatureSet, len(rows), n/total, 1e6*total/n, 1e6*parts[0]/n)
	rest := total - parts[0]
	for j, kind := range bundle.Manifest.Members {
		msg += fmt.Sprintf(", %s %.1f", kind, 1e6*parts[1+j]/n)
		rest -= parts[1+j]
	}
	b.Logf("%s, stacker and head %.1f", msg, 1e6*rest/n)
}

// peerRows reads the day's first -score-peer-rows flows.
func peerRows(b *testing.B, ctx context.Context, lake string, day time.Time) []tablerow.FlowFeatures {
	src, err := classify.OpenLakeSource(ctx, lake, -1, storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	bt := &batch{}
	errStop := errors.New("enough rows")
	err = src.Scan(ctx, day, day, func(r *tablerow.FlowFeatures) error {
		bt.add(r)
		if len(bt.rows) == *benchPeer {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		b.Fatal(err)
	}
	return bt.rows
}

// pythonPeer writes the no-SNI tree inputs of rows and times Python
// xgboost's predict on them.
func pythonPeer(b *testing.B, rows []tablerow.FlowFeatures, memberDir string, bd *classify.Bundle) (int, float64) {
	py := testenv.Python(b)
	x := bd.Transforms.NewInputs(rows, nil).Tree()
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, x.Data); err != nil {
		b.Fatal(err)
	}
	mat := filepath.Join(b.TempDir(), "x.f32")
	if err := os.WriteFile(mat, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(py, "-c", peerScript, memberDir, mat, strconv.Itoa(x.Rows), strconv.Itoa(x.Cols))
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		b.Fatalf("python peer: %v\n%s", err, stderr)
	}
	var res struct {
		Rows  int     `json:"rows"`
		CPU   float64 `json:"cpu_s"`
		Trees int     `json:"boosters"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
		b.Fatalf("python peer output %q: %v", out, err)
	}
	b.Logf("python xgboost (1 thread): %d rows, %d boosters, %.2fs CPU", res.Rows, res.Trees, res.CPU)
	return res.Rows, float64(res.Rows) / res.CPU
}

// peerScript predicts like the tree member: the flat member's model.json on
// every row; or, for xgb-hier, the category booster on every row and each
// category's booster on the rows whose top category it is.
const peerScript = `
import json, os, sys, time
import numpy as np
import xgboost as xgb
d, mat, rows, cols = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
X = np.fromfile(mat, dtype="<f4").reshape(rows, cols)
info = json.load(open(os.path.join(d, "info.json")))
def booster(name):
    b = xgb.Booster(model_file=os.path.join(d, name))
    b.set_param({"nthread": 1})
    return b
if os.path.exists(os.path.join(d, "model.json")):
    m = booster("model.json")
    t0 = time.process_time()
    m.predict(xgb.DMatrix(X, missing=np.nan, nthread=1), validate_features=False)
    print(json.dumps({"rows": rows, "cpu_s": time.process_time() - t0, "boosters": 1}))
    sys.exit(0)
cat = booster("category.json")
others = {g: booster("category-%d.json" % g) for g in range(len(info["categories"])) if os.path.exists(os.path.join(d, "category-%d.json" % g))}
t0 = time.process_time()
pc = cat.predict(xgb.DMatrix(X, missing=np.nan, nthread=1), validate_features=False)
top = pc.argmax(axis=1)
for g, b in others.items():
    idx = np.nonzero(top == g)[0]
    if len(idx):
        b.predict(xgb.DMatrix(X[idx], missing=np.nan, nthread=1), validate_features=False)
print(json.dumps({"rows": rows, "cpu_s": time.process_time() - t0, "boosters": 1 + len(others)}))
`
