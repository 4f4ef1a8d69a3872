package classify

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// testConfig is a small, fast training configuration.
func testConfig(out string, members ...string) TrainConfig {
	return TrainConfig{
		Out: out, Members: members, Split: SplitConfig{TrainWeeks: 2, ValWeeks: 1},
		MinClassRows: 5, HoldoutFrac: 0.2, Seed: 3,
		Member: MemberConfig{
			XGB: XGBConfig{Rounds: 8, MaxDepth: 4, Threads: 1},
			Seqnet: SeqnetConfig{
				Net:   seqnet.Config{Filters: []int{8}, Kernel: 3, Hidden: []int{16}},
				Train: seqnet.TrainConfig{MaxEpochs: 2, BatchSize: 64},
			},
			Linear: LinearConfig{Epochs: 3},
		},
	}
}

// writeDataset writes five weekly days of 10 apps; the validation and test
// days carry a per-app SNI domain and an ASN that never occur in training.
func writeDataset(t *testing.T, flows int) string {
	t.Helper()
	root := t.TempDir()
	days := classifytest.Weekly(5, flows)
	for i := 2; i < len(days); i++ {
		days[i].Opts = classifytest.Options{SNI: "api.leak-%s.net", ASN: 99999}
	}
	if _, err := classifytest.WriteRaw(context.Background(), root, 11, classifytest.Apps(10), days); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestTrainEvaluateEndToEnd(t *testing.T) {
	ctx := context.Background()
	root := writeDataset(t, 400)
	src, err := NewRawSource(root, featuredef.FeatureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "models")
	res, err := Train(ctx, src, testConfig(out, "xgb", "seqnet", "linear"), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bundles) != 2 || res.Holdout == 0 || res.Classes+res.Holdout != 10 {
		t.Fatalf("result %+v: want 2 bundles and 10 apps split into classes and held-out apps", res)
	}
	if d := cmp.Diff([]string{"2022-W01", "2022-W02"}, res.Train); d != "" {
		t.Errorf("train weeks (-want +got):\n%s", d)
	}
	for _, br := range res.Bundles {
		for _, f := range []string{"", "xgb/model.json"} {
			st, err := os.Stat(filepath.Join(br.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm()&0o044 != 0o044 {
				t.Errorf("bundle %s/%s has mode %v: not readable by others", br.Dir, f, st.Mode())
			}
		}
		for _, f := range []string{ManifestFile, TransformsFile, StackingFile, "xgb/model.json", "xgb/info.json",
			"seqnet/" + seqnet.WeightsFile, "seqnet/" + seqnet.ConfigFile, "linear/model.json"} {
			if _, err := os.Stat(filepath.Join(br.Dir, f)); err != nil {
				t.Errorf("bundle %s: %v", br.FeatureSet, err)
			}
		}
		best := 0.0
		for k, v := range br.ValMacroF1 {
			if k != "ensemble" {
				best = math.Max(best, v)
			}
		}
		if br.ValMacroF1["ensemble"] < best {
			t.Errorf("%s: ensemble %.4f below best member %.4f on validation", br.FeatureSet, br.ValMacroF1["ensemble"], best)
		}
	}

	// Leakage: the transforms saw the training weeks only.
	var tr Transforms
	if err := readJSON(filepath.Join(out, "sni", TransformsFile), &tr); err != nil {
		t.Fatal(err)
	}
	for d := range tr.SNI.Domains {
		if strings.Contains(d, "leak") {
			t.Errorf("validation/test domain %q in the target encoding", d)
		}
	}
	if slices.Contains(tr.ASN.Vocab, 99999) {
		t.Error("validation/test ASN in the one-hot vocabulary")
	}
	checkReference(t, filepath.Join(out, "sni"), res.Classes)
	if len(tr.SNI.Domains) == 0 || len(tr.ASN.Vocab) == 0 {
		t.Error("empty encoders: leakage check is vacuous")
	}

	// The saved bundle reproduces its validation score.
	b, err := LoadBundle(filepath.Join(out, "no-sni"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	val, _, err := sampleWindow(ctx, src, b.Manifest.Split.Val, 0, 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []tablerow.FlowFeatures
	var labels []int
	for _, r := range val {
		if c := slices.Index(b.Manifest.Classes, r.App); c >= 0 {
			rows, labels = append(rows, r), append(labels, c)
		}
	}
	p, err := b.Predict(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := macroF1(p.Class, labels, len(b.Manifest.Classes)), b.Manifest.Val["ensemble"]; math.Abs(got-want) > 1e-9 {
		t.Errorf("loaded bundle scores %.6f on validation, manifest says %.6f", got, want)
	}

	reportDir := filepath.Join(t.TempDir(), "report")
	rep, err := Evaluate(ctx, src, EvalConfig{Models: []string{out}, Out: reportDir}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"2022-W04", "2022-W05"}, rep.Weeks); d != "" {
		t.Errorf("test weeks (-want +got):\n%s", d)
	}
	if len(rep.Variants) != 2 {
		t.Fatalf("%d variants", len(rep.Variants))
	}
	for _, v := range rep.Variants {
		w := v.Weeks[0]
		if w.OpenSet.Unknown == 0 || w.OpenSet.Known == 0 || math.IsNaN(float64(w.OpenSet.TPRAtFPR)) {
			t.Errorf("%s: open set %+v: want known and unknown flows", v.FeatureSet, w.OpenSet)
		}
		if w.Ensemble.Flows != int64(w.OpenSet.Known) || len(v.First.PerClass) == 0 || len(v.Category.PerClass) == 0 {
			t.Errorf("%s: scores %+v", v.FeatureSet, w.Ensemble)
		}
		if len(w.Members) != 3 {
			t.Errorf("%s: member scores %v", v.FeatureSet, w.Members)
		}
	}
	// The no-SNI model is unaffected by the new domains; it must have
	// learned the synthetic apps' packet patterns.
	if s := rep.Summary; float64(s.MacroF1NoSNI) < 0.7 {
		t.Errorf("no-SNI macro-F1 %.3f: the members learned nothing", s.MacroF1NoSNI)
	}
	raw, err := os.ReadFile(filepath.Join(reportDir, ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	sum := back["summary"].(map[string]any)
	for _, k := range []string{"accuracy", "macro_f1", "macro_f1_no_sni", "unknown_tpr_at_5fpr"} {
		if _, ok := sum[k].(float64); !ok {
			t.Errorf("summary key %s = %v, want a number", k, sum[k])
		}
	}
	for _, f := range []string{ReportText, "confusion_sni.csv", "confusion_no-sni.csv"} {
		if _, err := os.Stat(filepath.Join(reportDir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestSplitWeeks(t *testing.T) {
	var days []time.Time
	for i := range 35 {
		days = append(days, day0.AddDate(0, 0, i))
	}
	weeks := Weeks(days)
	if len(weeks) != 5 || weeks[0].Days != 7 {
		t.Fatalf("weeks %+v", weeks)
	}
	s, err := SplitWeeks(weeks, SplitConfig{SkipWeeks: 1, TrainWeeks: 2, TestWeeks: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := [][]string{labels(s.Train), labels(s.Val), labels(s.Test)}
	want := [][]string{{"2022-W02", "2022-W03"}, {"2022-W04"}, {"2022-W05"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("split (-want +got):\n%s", d)
	}
	if _, err := SplitWeeks(weeks, SplitConfig{TrainWeeks: 4}); err == nil {
		t.Error("split without a test week accepted")
	}

	// A moving window: the latest weeks complete on the as-of day.
	for _, tt := range []struct {
		asOf string
		want [][]string
	}{
		{"2022-02-06", [][]string{{"2022-W02", "2022-W03"}, {"2022-W04"}, {"2022-W05"}}}, // Sunday: W05 complete
		{"2022-02-05", [][]string{{"2022-W01", "2022-W02"}, {"2022-W03"}, {"2022-W04"}}}, // Saturday: it is not
		{"2022-03-01", [][]string{{"2022-W02", "2022-W03"}, {"2022-W04"}, {"2022-W05"}}}, // after the data
	} {
		s, err := SplitWeeks(weeks, SplitConfig{TrainWeeks: 2, ValWeeks: 1, AsOf: tt.asOf})
		if err != nil {
			t.Fatalf("as of %s: %v", tt.asOf, err)
		}
		got := [][]string{labels(s.Train), labels(s.Val), labels(s.Test)}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("as of %s: split (-want +got):\n%s", tt.asOf, d)
		}
	}
	for i, c := range []SplitConfig{
		{TrainWeeks: 3, AsOf: "2022-01-30"},               // needs 5 complete weeks, 4 are
		{TrainWeeks: 2, AsOf: "2022-01-30", SkipWeeks: 1}, // both
		{TrainWeeks: 2, AsOf: "30.01.2022"},
	} {
		_, err := SplitWeeks(weeks, c)
		if err == nil {
			t.Errorf("split %+v accepted", c)
		}
		// Only a young lake is "too few weeks" (train's exit 99).
		if tooFew := errors.Is(err, ErrTooFewWeeks); tooFew != (i == 0) {
			t.Errorf("split %+v: %v: errors.Is ErrTooFewWeeks = %v", c, err, tooFew)
		}
	}
}

// testLog sends progress to the test log.
func testLog(t *testing.T) *logWriter { return &logWriter{t} }

type logWriter struct{ t *testing.T }

func (w *logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// checkReference checks the reference profile saved beside a bundle: the
// training weeks only, the model's classes and validation behaviour.
func checkReference(t *testing.T, dir string, classes int) {
	t.Helper()
	ref, err := drift.LoadReference(context.Background(), dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.From < "2022-01-03" || ref.To > "2022-01-16" || ref.Flows == 0 {
		t.Errorf("reference window %s..%s (%d flows): want the training weeks 2022-W01..W02", ref.From, ref.To, ref.Flows)
	}
	for _, d := range ref.KnownDomains {
		if strings.Contains(d, "leak") {
			t.Errorf("validation/test domain %q in the reference", d)
		}
	}
	if len(ref.Model.Classes) != classes || ref.Model.MeanMaxProb <= 0 || ref.Model.MeanMaxProb > 1 || len(ref.Apps) < classes {
		t.Errorf("reference model %d classes (want %d), mean max prob %v, %d apps", len(ref.Model.Classes), classes, ref.Model.MeanMaxProb, len(ref.Apps))
	}
}

func TestSplitHeldOutRows(t *testing.T) {
	var days []time.Time
	for i := range 35 {
		days = append(days, day0.AddDate(0, 0, i))
	}
	weeks := Weeks(days)
	c := SplitConfig{TrainWeeks: 3, ValWeeks: 1, AsOf: "2022-02-05", HeldOutRows: true} // Saturday: W05 is not complete
	s, err := SplitWeeks(weeks, c)
	if err != nil {
		t.Fatal(err)
	}
	got := [][]string{labels(s.Train), labels(s.Val), labels(s.Test)}
	want := [][]string{{"2022-W02", "2022-W03", "2022-W04"}, {"2022-W04"}, {"2022-W04"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("split (-want +got):\n%s", d)
	}
	if w := s.TestWindow(c); w != "2022-W04"+HeldOutSuffix {
		t.Errorf("test window %q", w)
	}
	if l, h := splitWindow(s.TestWindow(c)); l != "2022-W04" || !h {
		t.Errorf("splitWindow: %q %v", l, h)
	}
	for i, bad := range []SplitConfig{
		{TrainWeeks: 5, AsOf: "2022-02-05", HeldOutRows: true},              // 4 weeks complete
		{TrainWeeks: 1, ValWeeks: 2, AsOf: "2022-02-05", HeldOutRows: true}, // validation outside training
	} {
		_, err := SplitWeeks(weeks, bad)
		if err == nil || errors.Is(err, ErrTooFewWeeks) != (i == 0) {
			t.Errorf("split %+v: %v", bad, err)
		}
	}

	// One flow in ten per bucket; training keeps no test flow, nor a
	// validation flow of the validation weeks.
	n := [rowBuckets]int{}
	for id := range int64(100000) {
		n[RowBucket(id)]++
	}
	for b, k := range n {
		if k < 9500 || k > 10500 {
			t.Errorf("bucket %d holds %d of 100000 ids", b, k)
		}
	}
	keep := trainKeep(s, c)
	idOf := func(bucket int) int64 {
		for id := int64(0); ; id++ {
			if RowBucket(id) == bucket {
				return id
			}
		}
	}
	for _, tt := range []struct {
		bucket int
		day    string
		want   bool
	}{
		{testBucket, "2022-01-11", false},
		{valBucket, "2022-01-25", false}, // W04, the validation week
		{valBucket, "2022-01-11", true},  // W02
		{5, "2022-01-25", true},
	} {
		if got := keep(&tablerow.FlowFeatures{ID: idOf(tt.bucket), Day: tt.day}); got != tt.want {
			t.Errorf("bucket %d on %s: kept %v, want %v", tt.bucket, tt.day, got, tt.want)
		}
	}
	if trainKeep(s, SplitConfig{TrainWeeks: 3}) != nil {
		t.Error("week mode filters training rows")
	}
}

// TestHeldOutRowsEndToEnd trains up to the last week, evaluates on its
// held-out flows, and scores the bundle again on that window by name (as
// promote does for a champion); whole weeks it learned from are refused.
func TestHeldOutRowsEndToEnd(t *testing.T) {
	ctx := context.Background()
	src, err := NewRawSource(writeDataset(t, 600), featuredef.FeatureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "models")
	cfg := testConfig(out, "xgb")
	cfg.FeatureSets = []FeatureSet{FeaturesNoSNI}
	cfg.Split = SplitConfig{TrainWeeks: 3, ValWeeks: 1, AsOf: "2022-02-06", HeldOutRows: true}
	res, err := Train(ctx, src, cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"2022-W05"}, res.Test); d != "" {
		t.Errorf("test weeks (-want +got):\n%s", d)
	}
	rep, err := Evaluate(ctx, src, EvalConfig{Models: []string{out}}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	flows := rep.Variants[0].Weeks[0].Flows
	if !rep.HeldOut || rep.Summary.TestWeek != "2022-W05"+HeldOutSuffix || flows < 20 || flows > 120 {
		t.Fatalf("held out %v, test week %q, %d flows: want the held-out tenth of 600 flows of 2022-W05", rep.HeldOut, rep.Summary.TestWeek, flows)
	}
	again, err := Evaluate(ctx, src, EvalConfig{Models: []string{out}, Weeks: []string{rep.Summary.TestWeek}}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := again.Summary.MacroF1NoSNI, rep.Summary.MacroF1NoSNI; a != b {
		t.Errorf("scored again on %s: macro-F1 %v, first %v", rep.Summary.TestWeek, a, b)
	}
	if _, err := Evaluate(ctx, src, EvalConfig{Models: []string{out}, Weeks: []string{"2022-W05"}}, testLog(t)); !errors.Is(err, ErrNoTestWeeks) {
		t.Errorf("whole week the bundle learned from: %v, want ErrNoTestWeeks", err)
	}
}
