package classify

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	stackCache     = flag.String("stack-cache", "", "BenchmarkStackers: folder caching the members' validation and test probabilities (reruns skip training)")
	stackNetRows   = flag.Int("stack-net-rows", 20000, "BenchmarkStackers: the nets' training rows (the demo's --net-rows)")
	stackNetEpochs = flag.Int("stack-net-epochs", 10, "BenchmarkStackers: the nets' epochs (the demo's --net-epochs)")
	stackMembers   = flag.String("stack-members", "", "BenchmarkStackers: comma-separated member kinds (default the train task's)")
)

// BenchmarkStackers compares the stacking rules on the demo's rows
// (`make bench-stack`, -peers-lake as BenchmarkPeers): it fits the default
// members with the demo's settings (the net: 20,000 rows, 10 epochs; flags
// change the nets' budget and the members) once,
// then each stacker on their validation probabilities, and scores members
// and stackers on the test week's known rows (macro-F1; gain = stacker minus
// best member, in points).
func BenchmarkStackers(b *testing.B) {
	if *peersLake == "" {
		b.Skip("BenchmarkStackers needs -peers-lake (make bench-stack runs it on the demo's lake)")
	}
	for b.Loop() {
		runStackers(b)
	}
}

func runStackers(b *testing.B) {
	ctx := context.Background()
	bd := loadBenchData(b)
	cfg := bd.cfg
	cfg.Member.Seqnet.MaxRows, cfg.Member.Seqnet.Train.MaxEpochs = *stackNetRows, *stackNetEpochs
	cfg.Member.LSTM.MaxRows, cfg.Member.LSTM.Train.MaxEpochs = *stackNetRows, *stackNetEpochs
	cfg.Member.MM.MaxRows, cfg.Member.MM.Train.MaxEpochs = *stackNetRows, *stackNetEpochs
	if *stackMembers != "" {
		cfg.Members = strings.Split(*stackMembers, ",")
	}
	k := len(bd.d.classes)
	var val, test [][]float32
	for _, kind := range cfg.Members {
		vp, tp, ok := readStackCache(kind, bd.val.Len()*k, bd.test.Len()*k)
		if !ok {
			m, err := NewMember(kind, cfg.Member)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Fit(ctx, bd.train, bd.val, os.Stderr); err != nil {
				b.Fatal(err)
			}
			if vp, err = m.PredictProba(ctx, bd.val); err != nil {
				b.Fatal(err)
			}
			if tp, err = m.PredictProba(ctx, bd.test); err != nil {
				b.Fatal(err)
			}
			m.Close()
			writeStackCache(b, kind, vp, tp)
		}
		val, test = append(val, vp), append(test, tp)
	}
	var tab strings.Builder
	fmt.Fprintf(&tab, "\nstackers on the demo's rows (no SNI; validation %s %d rows, test %s %d rows, %d classes):\n| rule | val macro-F1 (cross-fitted) | test macro-F1 | gain over best member (points) |\n|---|---|---|---|\n",
		bd.valWeek, bd.val.Len(), bd.testWeek, bd.test.Len(), k)
	best := 0.0
	for i, kind := range cfg.Members {
		var r peerRow
		bd.scoreTest(test[i], &r)
		best = max(best, r.f1)
		fmt.Fprintf(&tab, "| member %s | %.4f | %.4f | |\n", kind, macroF1(argmaxRows(val[i], k), bd.val.Labels, k), r.f1)
	}
	grid, err := FitStacking(cfg.Members, val, bd.val.Labels, k, cfg.StackStep)
	if err != nil {
		b.Fatal(err)
	}
	row := func(name string, st Stacking) {
		p, err := st.Combine(test, k, nil)
		if err != nil {
			b.Fatal(err)
		}
		var r peerRow
		bd.scoreTest(p, &r)
		fmt.Fprintf(&tab, "| %s | %.4f | %.4f | %+.1f |\n", name, st.ValMacroF1, r.f1, 100*(r.f1-best))
		fmt.Fprintf(os.Stderr, "stack: %s: test macro-F1 %.4f\n", name, r.f1)
		b.ReportMetric(100*(r.f1-best), metricName(name)+"_gain")
	}
	row(fmt.Sprintf("grid %s %v", grid.Pool, grid.Weights), grid)
	chosen := grid
	chosen.FitLogit(val, bd.val.Labels, k, cfg.Seed)
	row("chosen ("+chosen.Pool+")", chosen)
	for _, o := range []logitOptions{
		{L2: logitL2, Iters: logitIters, Folds: 4},
		{L2: logitL2, Iters: logitIters, Folds: 4, Tied: true},
		{L2: logitL2, Iters: logitIters, Folds: 4, Tied: true, Gate: true},
		{L2: 0.1, Iters: logitIters, Folds: 4, Gate: true},
	} {
		st := grid
		logit, gridF1 := crossFitLogit(val, bd.val.Labels, k, st.Weights, st.Pool, o, cfg.Seed)
		st.Logit = fitLogitStacker(val, bd.val.Labels, k, st.Weights, o)
		st.Pool, st.Fallback, st.GridMacroF1, st.ValMacroF1 = PoolLogit, "", gridF1, logit
		row(fmt.Sprintf("logit %s", o), st)
	}
	fmt.Fprint(os.Stderr, tab.String())
}

func stackCachePath(kind, split string) string {
	if kind == "seqnet" || kind == "lstm" {
		kind = fmt.Sprintf("%s-%d-%d", kind, *stackNetRows, *stackNetEpochs)
	}
	return filepath.Join(*stackCache, kind+"."+split+".f32")
}

func readStackCache(kind string, nVal, nTest int) (val, test []float32, ok bool) {
	if *stackCache == "" {
		return nil, nil, false
	}
	read := func(split string, n int) []float32 {
		raw, err := os.ReadFile(stackCachePath(kind, split))
		if err != nil || len(raw) != 4*n {
			return nil
		}
		out := make([]float32, n)
		if _, err := binary.Decode(raw, binary.LittleEndian, out); err != nil {
			return nil
		}
		return out
	}
	val, test = read("val", nVal), read("test", nTest)
	return val, test, val != nil && test != nil
}

func writeStackCache(b *testing.B, kind string, val, test []float32) {
	if *stackCache == "" {
		return
	}
	if err := os.MkdirAll(*stackCache, 0o755); err != nil {
		b.Fatal(err)
	}
	for split, p := range map[string][]float32{"val": val, "test": test} {
		raw, err := binary.Append(nil, binary.LittleEndian, p)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(stackCachePath(kind, split), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
