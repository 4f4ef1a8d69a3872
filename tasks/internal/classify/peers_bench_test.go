package classify

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

var (
	peersLake  = flag.String("peers-lake", "", "BenchmarkPeers: lake root with flow_features (e.g. the demo's .demo/lake)")
	peersAsOf  = flag.String("peers-as-of", "", "BenchmarkPeers: train as of this day (default: the last day minus 7, the demo's first training run)")
	peersRows  = flag.Int("peers-train-rows", 20000, "BenchmarkPeers: training rows sampled (the demo's --max-train-rows)")
	peersVal   = flag.Int("peers-val-rows", 8000, "BenchmarkPeers: validation rows sampled (the demo's --max-val-rows)")
	peersTest  = flag.Int("peers-test-rows", 10000, "BenchmarkPeers: test rows sampled (the demo's evaluate --max-rows-per-week)")
	peersDir   = flag.String("peers-dir", "", "BenchmarkPeers: folder for the exported rows and peer outputs (default: a temporary folder)")
	peersTune  = flag.Bool("peers-tune", false, "BenchmarkPeers: also fit the tree member over a grid of settings (validation macro-F1 decides)")
	peersSkipP = flag.Bool("peers-no-python", false, "BenchmarkPeers: skip the Python peers")
	peersGrid  = flag.String("peers-grid", "", "BenchmarkPeers -peers-tune: settings to try instead of the built-in grid, ';'-separated, each ','-separated key=value of kind (xgb, xgb-hier), eta, depth, bins, rounds, early, cw (class weight power, <0: none)")
	peersSkipB = flag.Bool("peers-no-bundle", false, "BenchmarkPeers: skip the whole bundle (trees and peers only)")
)

// peerRow is one line of the benchmark's table.
type peerRow struct {
	name       string
	cpu        float64
	rounds     string
	acc, f1    float64
	valF1      float64
	unknownTPR float64
	predUS     float64 // CPU µs per test flow of the member's prediction (0: not measured)
}

// benchData is the benchmark's split, prepared as the train and evaluate
// tasks prepare it (no SNI).
type benchData struct {
	d                   *trainingData
	cfg                 TrainConfig
	src                 Source
	testRows            []tablerow.FlowFeatures
	train, val, test    *Inputs
	testLabels          []int // -1: an unknown (held-out) service
	trainWeeks, valWeek string
	testWeek            string
}

func loadBenchData(tb testing.TB) *benchData {
	ctx := context.Background()
	src, err := SourceFlags{Lake: *peersLake, Version: -1}.Open(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	days, err := src.Days(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	asOf := *peersAsOf
	if asOf == "" {
		asOf = days[len(days)-1].AddDate(0, 0, -7).Format(cesnet.DayLayout)
	}
	cfg := DefaultTrainConfig()
	cfg.Split = SplitConfig{TrainWeeks: 3, ValWeeks: 1, TestWeeks: 1, AsOf: asOf}
	cfg.MaxTrainRows, cfg.MaxValRows = *peersRows, *peersVal
	cfg = cfg.withDefaults()
	split, err := SplitWeeks(Weeks(days), cfg.Split)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := sampleTraining(ctx, src, src, split, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	weekRows, err := sampleWeeks(ctx, src, split.Test[:1], *peersTest, DefaultEvalConfig().Seed)
	if err != nil {
		tb.Fatal(err)
	}
	index := map[string]int{}
	for i, c := range d.classes {
		index[c] = i
	}
	var test []tablerow.FlowFeatures
	var testLabels []int
	for _, r := range weekRows[0] {
		c, ok := index[r.App]
		switch {
		case ok:
		case contains(d.rare, r.App), contains(d.openApps, r.App):
			continue
		default:
			c = -1
		}
		test = append(test, r)
		testLabels = append(testLabels, c)
	}
	tc := cfg.Transform
	tc.FeatureSet = FeaturesNoSNI
	tr, trainIn, err := FitTransforms(d.trainRows, d.trainLabels, d.classes, tc)
	if err != nil {
		tb.Fatal(err)
	}
	bd := &benchData{d: d, cfg: cfg, src: src, testRows: test, train: trainIn, val: tr.NewInputs(d.valRows, d.valLabels), test: tr.NewInputs(test, nil),
		testLabels: testLabels, trainWeeks: strings.Join(labels(split.Train), ","), valWeek: labels(split.Val)[0],
		testWeek: split.Test[0].Label}
	return bd
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// scoreTest fills the test metrics of probs (test rows × classes) as
// evaluate computes them: accuracy and macro-F1 on known flows, unknown TPR
// at 5 % FPR with the highest probability as the score.
func (bd *benchData) scoreTest(probs []float32, r *peerRow) {
	k := len(bd.d.classes)
	conf := NewConfusion(bd.d.classes)
	pred := argmaxRows(probs, k)
	score := maxProb(probs, k)
	var known, unknown []float32
	for i, y := range bd.testLabels {
		if y < 0 {
			unknown = append(unknown, score[i])
			continue
		}
		known = append(known, score[i])
		conf.Add(y, pred[i])
	}
	s := conf.Scores(false)
	r.acc, r.f1 = s.Accuracy, s.MacroF1
	r.unknownTPR, _, _ = TPRAtFPR(known, unknown, 0.05)
}

// writeCSV writes label and tree-view columns of in (empty: missing).
func writeCSV(path string, in *Inputs, labels []int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	x := in.Tree()
	fmt.Fprint(w, "label")
	for _, n := range in.t.TreeNames() {
		fmt.Fprint(w, ",", n)
	}
	fmt.Fprintln(w)
	buf := make([]byte, 0, 32)
	for i := range x.Rows {
		y := -1
		if labels != nil {
			y = labels[i]
		}
		w.WriteString(strconv.Itoa(y))
		for _, v := range x.Data[i*x.Cols : (i+1)*x.Cols] {
			w.WriteByte(',')
			if !math.IsNaN(float64(v)) {
				w.Write(strconv.AppendFloat(buf[:0], float64(v), 'g', -1, 32))
			}
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readF32(path string, n int) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != 4*n {
		return nil, fmt.Errorf("%s: %d bytes, want %d", path, len(b), 4*n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// fitTree fits a tree member and scores it.
func (bd *benchData) fitTree(tb testing.TB, name string, m Member) (peerRow, []float32, []float32) {
	ctx := context.Background()
	c0 := testenv.CPUTime().Seconds()
	if err := m.Fit(ctx, bd.train, bd.val, nil); err != nil {
		tb.Fatal(err)
	}
	r := peerRow{name: name, cpu: testenv.CPUTime().Seconds() - c0}
	vp, err := m.PredictProba(ctx, bd.val)
	if err != nil {
		tb.Fatal(err)
	}
	k := len(bd.d.classes)
	r.valF1 = macroF1(argmaxRows(vp, k), bd.d.valLabels, k)
	c1 := testenv.CPUTime().Seconds()
	tp, err := m.PredictProba(ctx, bd.test)
	if err != nil {
		tb.Fatal(err)
	}
	r.predUS = 1e6 * (testenv.CPUTime().Seconds() - c1) / float64(bd.test.Len())
	bd.scoreTest(tp, &r)
	r.rounds = memberRounds(m)
	return r, vp, tp
}

func memberRounds(m Member) string {
	switch t := m.(type) {
	case *XGBMember:
		return strconv.Itoa(t.info.Rounds)
	case *XGBHierMember:
		total := t.info.CategoryRounds
		for _, r := range t.info.Rounds {
			total += r
		}
		return fmt.Sprintf("%d+%d", t.info.CategoryRounds, total-t.info.CategoryRounds)
	}
	return "-"
}

func printPeerTable(w io.Writer, bd *benchData, rows []peerRow) {
	fmt.Fprintf(w, "\nclassifier peers, no SNI: %d training rows (%s), %d validation (%s), %d test flows (%s, %d of held-out apps %v), %d classes\n",
		bd.train.Len(), bd.trainWeeks, bd.val.Len(), bd.valWeek, len(bd.testLabels), bd.testWeek, countNeg(bd.testLabels), bd.d.holdout, len(bd.d.classes))
	fmt.Fprintf(w, "| %-70s | %8s | %9s | %8s | %8s | %8s | %11s | %9s |\n", "model", "CPU s", "rounds", "val F1", "accuracy", "macro-F1", "unknown TPR", "µs/flow")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 72), strings.Repeat("-", 10), strings.Repeat("-", 11), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 13), strings.Repeat("-", 11))
	for _, r := range rows {
		val := "-"
		if r.valF1 > 0 {
			val = fmt.Sprintf("%.4f", r.valF1)
		}
		us := "-"
		if r.predUS > 0 {
			us = fmt.Sprintf("%.1f", r.predUS)
		}
		fmt.Fprintf(w, "| %-70s | %8.1f | %9s | %8s | %8.4f | %8.4f | %11.4f | %9s |\n", r.name, r.cpu, r.rounds, val, r.acc, r.f1, r.unknownTPR, us)
	}
}

func countNeg(s []int) int {
	n := 0
	for _, v := range s {
		if v < 0 {
			n++
		}
	}
	return n
}

// BenchmarkPeers trains our tree member and the Python peers (LightGBM,
// XGBoost) on the same rows — the demo's flow_features split as the train
// and evaluate tasks sample it, no SNI — and prints one table of CPU
// seconds, accuracy, macro-F1 and unknown TPR at 5 % FPR, all computed here
// from each model's test probabilities. Needs -peers-lake (make
// bench-classify passes the demo's lake).
func BenchmarkPeers(b *testing.B) {
	if *peersLake == "" {
		b.Skip("BenchmarkPeers needs -peers-lake (make bench-classify runs it on the demo's lake)")
	}
	for b.Loop() {
		runPeers(b)
	}
}

func runPeers(b *testing.B) {
	t0 := time.Now()
	bd := loadBenchData(b)
	fmt.Fprintf(os.Stderr, "peers: data ready in %.0fs\n", time.Since(t0).Seconds())
	// The Python peers run beside our models (their CPU seconds are their
	// own process's).
	py := make(chan pythonPeers, 1)
	if *peersSkipP {
		py <- pythonPeers{}
	} else {
		wait := startPythonPeers(b, bd)
		go func() { py <- wait() }()
	}
	var rows []peerRow
	// Seeded as the train task seeds the tree member (and as peers.py
	// seeds Python's XGBoost).
	seed := int64(DefaultTrainConfig().Seed)
	demo := DefaultTrainConfig().Member.XGB
	demo.Seed = seed
	demo.Rounds = 30 // the demo's --xgb-rounds before issue 15
	demo.Eta, demo.EarlyStop, demo.MaxBin = 0.3, 5, 64
	r, _, _ := bd.fitTree(b, "ours xgb-hier, old demo settings (eta 0.3, 30 rounds, 64 bins)", &XGBHierMember{Config: demo})
	rows = append(rows, r)
	tuned := DefaultTrainConfig().Member.XGB
	tuned.Seed = seed
	// The default tree member without SNI, then the hierarchy (the default
	// with SNI) at the same settings.
	def, err := NewMember(DefaultMembers(FeaturesNoSNI)[0], MemberConfig{XGB: tuned})
	if err != nil {
		b.Fatal(err)
	}
	r, _, _ = bd.fitTree(b, "ours "+def.Kind()+" (default), "+tuned.describe(), def)
	rows = append(rows, r)
	r, _, _ = bd.fitTree(b, "ours xgb-hier, "+tuned.describe(), &XGBHierMember{Config: tuned})
	rows = append(rows, r)
	if *peersTune {
		grid := tuneGrid()
		if *peersGrid != "" {
			var err error
			if grid, err = parseGrid(*peersGrid); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range grid {
			m := c.member()
			r, _, _ := bd.fitTree(b, "tune "+m.Kind()+" "+c.cfg.describe(), m)
			rows = append(rows, r)
			fmt.Fprintf(os.Stderr, "peers: %s: val %.4f test %.4f cpu %.1f, rounds %s, predict %.1f µs/flow\n", r.name, r.valF1, r.f1, r.cpu, r.rounds, r.predUS)
		}
	}
	var openSet []openSetRow
	if !*peersSkipB {
		var bundleRows []peerRow
		bundleRows, openSet = runBundle(b, bd)
		rows = append(rows, bundleRows...)
	}
	pp := <-py
	rows = append(rows, pp.rows...)
	openSet = append(openSet, pp.open...)
	for _, r := range pp.rows {
		openSet = append(openSet, openSetRow{name: "max probability of " + r.name, val: math.NaN(), tpr: r.unknownTPR})
	}
	printPeerTable(os.Stdout, bd, rows)
	fmt.Fprintf(os.Stdout, "\nunknown-service detection (no SNI), TPR at 5 %% FPR: validation (open-set apps %v; heads out of fold) and test (%s, held-out apps):\n",
		bd.d.openApps, bd.testWeek)
	fmt.Fprintf(os.Stdout, "| %-100s | %-8s | %-8s |\n", "method", "val", "test")
	fmt.Fprintf(os.Stdout, "|%s|%s|%s|\n", strings.Repeat("-", 102), strings.Repeat("-", 10), strings.Repeat("-", 10))
	for _, o := range openSet {
		val := "-"
		if !math.IsNaN(o.val) {
			val = fmt.Sprintf("%.4f", o.val)
		}
		fmt.Fprintf(os.Stdout, "| %-100s | %-8s | %.4f |\n", o.name, val, o.tpr)
	}
}

// startPythonPeers exports the rows and starts testdata/peers.py on them;
// wait returns the peers' rows (nil after an error, reported with b.Error).
func startPythonPeers(b *testing.B, bd *benchData) (wait func() pythonPeers) {
	dir := *peersDir
	if dir == "" {
		dir = b.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for name, part := range map[string]struct {
		in *Inputs
		y  []int
	}{"train": {bd.train, bd.d.trainLabels}, "val": {bd.val, bd.d.valLabels}, "test": {bd.test, bd.testLabels}} {
		if err := writeCSV(filepath.Join(dir, name+".csv"), part.in, part.y); err != nil {
			b.Fatal(err)
		}
	}
	if err := writeJSON(filepath.Join(dir, "classes.json"), map[string]any{"classes": len(bd.d.classes), "names": bd.d.classes}); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(testenv.Python(b), "testdata/peers.py", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("peers.py: %v", err)
	}
	return func() pythonPeers {
		if err := cmd.Wait(); err != nil {
			b.Errorf("peers.py: %v", err)
			return pythonPeers{}
		}
		rows, err := readPythonPeers(bd, dir)
		if err != nil {
			b.Error(err)
		}
		open, err := readPythonOpenScores(bd, dir)
		if err != nil {
			b.Error(err)
		}
		return pythonPeers{rows, open}
	}
}

func readPythonPeers(bd *benchData, dir string) ([]peerRow, error) {
	var res []struct {
		Name   string  `json:"name"`
		File   string  `json:"file"`
		CPU    float64 `json:"cpu_s"`
		Rounds int     `json:"rounds"`
	}
	if err := readJSON(filepath.Join(dir, "results.json"), &res); err != nil {
		return nil, err
	}
	var rows []peerRow
	for _, p := range res {
		probs, err := readF32(filepath.Join(dir, p.File), len(bd.testLabels)*len(bd.d.classes))
		if err != nil {
			return nil, err
		}
		r := peerRow{name: p.Name, cpu: p.CPU, rounds: strconv.Itoa(p.Rounds)}
		bd.scoreTest(probs, &r)
		rows = append(rows, r)
	}
	return rows, nil
}

// tuneCase is one setting -peers-tune tries.
type tuneCase struct {
	flat bool // XGBMember, else XGBHierMember
	cfg  XGBConfig
}

func (c tuneCase) member() Member {
	if c.flat {
		return &XGBMember{Config: c.cfg}
	}
	return &XGBHierMember{Config: c.cfg}
}

// tuneGrid lists the settings -peers-tune tries.
func tuneGrid() []tuneCase {
	base := XGBConfig{Rounds: 1000, EarlyStop: 20, Eta: 0.1, MaxDepth: 6, MaxBin: 256, Seed: int64(DefaultTrainConfig().Seed)}
	with := func(flat bool, f func(*XGBConfig)) tuneCase {
		c := base
		f(&c)
		return tuneCase{flat, c}
	}
	none := func(c *XGBConfig) { c.ClassWeightPower = -1 }
	return []tuneCase{
		with(true, none), // Python XGBoost's settings exactly
		with(true, func(*XGBConfig) {}),
		with(false, none),
		with(false, func(c *XGBConfig) { c.ClassWeightPower = 0.25 }),
	}
}

// parseGrid parses -peers-grid.
func parseGrid(s string) ([]tuneCase, error) {
	var out []tuneCase
	for _, entry := range strings.Split(s, ";") {
		c := tuneCase{cfg: DefaultTrainConfig().Member.XGB}
		c.cfg.Seed = int64(DefaultTrainConfig().Seed)
		for _, kv := range strings.Split(entry, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return nil, fmt.Errorf("-peers-grid: %q is not key=value", kv)
			}
			if k == "kind" {
				if v != "xgb" && v != "xgb-hier" {
					return nil, fmt.Errorf("-peers-grid: kind %q", v)
				}
				c.flat = v == "xgb"
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("-peers-grid: %s: %w", kv, err)
			}
			switch k {
			case "eta":
				c.cfg.Eta = f
			case "depth":
				c.cfg.MaxDepth = int(f)
			case "bins":
				c.cfg.MaxBin = int(f)
			case "rounds":
				c.cfg.Rounds = int(f)
			case "early":
				c.cfg.EarlyStop = int(f)
			case "cw":
				c.cfg.ClassWeightPower = f
			default:
				return nil, fmt.Errorf("-peers-grid: unknown key %q", k)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

type openSetRow struct {
	name     string
	val, tpr float64 // val: NaN when not measured
}

// pythonPeers are the Python peers' table rows and open-set scores.
type pythonPeers struct {
	rows []peerRow
	open []openSetRow
}

// readPythonOpenScores scores the per-row open-set scores peers.py wrote
// (open_scores.json).
func readPythonOpenScores(bd *benchData, dir string) ([]openSetRow, error) {
	var res []struct {
		Name string `json:"name"`
		File string `json:"file"`
	}
	if err := readJSON(filepath.Join(dir, "open_scores.json"), &res); err != nil {
		return nil, err
	}
	var out []openSetRow
	for _, s := range res {
		score, err := readF32(filepath.Join(dir, s.File), len(bd.testLabels))
		if err != nil {
			return nil, err
		}
		out = append(out, openSetRow{name: s.Name, val: math.NaN(), tpr: bd.splitTPR(score)})
	}
	return out, nil
}

// splitTPR is the unknown TPR at 5 % FPR of a known score of the test rows.
func (bd *benchData) splitTPR(score []float32) float64 {
	var known, unknown []float32
	for i, y := range bd.testLabels {
		if y < 0 {
			unknown = append(unknown, score[i])
		} else {
			known = append(known, score[i])
		}
	}
	tpr, _, _ := TPRAtFPR(known, unknown, 0.05)
	return tpr
}

// runBundle trains the no-SNI bundle as the demo's train task does (its
// members, stacker and open-set head) on the benchmark's window, and scores
// the members, the ensemble and the open-set scores on the test rows.
func runBundle(b *testing.B, bd *benchData) ([]peerRow, []openSetRow) {
	ctx := context.Background()
	cfg := bd.cfg
	cfg.Out = b.TempDir()
	cfg.FeatureSets = []FeatureSet{FeaturesNoSNI}
	cfg.Member.Seqnet.MaxRows, cfg.Member.Seqnet.Train.MaxEpochs = 20000, 10 // the demo's --net-rows, --net-epochs
	c0 := testenv.CPUTime().Seconds()
	if _, err := Train(ctx, bd.src, cfg, os.Stderr); err != nil {
		b.Fatal(err)
	}
	cpu := testenv.CPUTime().Seconds() - c0
	bundle, err := LoadBundle(filepath.Join(cfg.Out, string(FeaturesNoSNI)))
	if err != nil {
		b.Fatal(err)
	}
	defer bundle.Close()
	p, err := bundle.Predict(ctx, bd.testRows)
	if err != nil {
		b.Fatal(err)
	}
	var rows []peerRow
	k := len(bd.d.classes)
	for i, kind := range bundle.Manifest.Members {
		r := peerRow{name: "bundle member " + kind, rounds: "-", valF1: bundle.Manifest.Val[kind]}
		bd.scoreTest(p.Members[i], &r)
		rows = append(rows, r)
	}
	st := bundle.Stacking
	r := peerRow{name: fmt.Sprintf("bundle ensemble (%s stacker; training CPU of all members)", st.Pool), cpu: cpu, rounds: "-", valF1: st.ValMacroF1}
	bd.scoreTest(p.Probs, &r)
	rows = append(rows, r)
	// The grid stacker alone, for the stacker's gain.
	grid := st
	grid.Logit, grid.Pool = nil, PoolMean
	if st.Pool != PoolLogit {
		grid.Pool = st.Pool
	}
	gp, err := grid.Combine(p.Members, k, nil)
	if err != nil {
		b.Fatal(err)
	}
	r = peerRow{name: "bundle ensemble, grid weights only " + fmt.Sprint(st.Weights), rounds: "-"}
	bd.scoreTest(gp, &r)
	rows = append(rows, r)

	var open []openSetRow
	split := bd.splitTPR
	nan := math.NaN()
	for i, kind := range bundle.Manifest.Members {
		open = append(open, openSetRow{"max probability of bundle member " + kind, nan, split(maxProb(p.Members[i], k))})
	}
	x, names := headFeatures(p.Members, p.Probs, k)
	negEntropy := make([]float32, len(p.Confidence))
	for i := range negEntropy {
		negEntropy[i] = -float32(x[i*len(names)+2])
	}
	open = append(open, openSetRow{"negative entropy of the bundle ensemble", nan, split(negEntropy)})
	rej := bundle.Manifest.Reject
	for _, m := range rej.Methods {
		s, err := methodScores(m, p.Members, p.Probs, k, bd.testRows, rej.Fingerprints)
		if err != nil {
			b.Fatal(err)
		}
		name := "bundle open-set method " + m.Method + " (" + openSetMethodNote[m.Method] + ")"
		if m.Method == rej.Method {
			name += " ← chosen"
		}
		open = append(open, openSetRow{name, m.ValTPR, split(s)})
	}
	return rows, open
}
