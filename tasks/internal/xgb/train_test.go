package xgb

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTrainMultiClass(t *testing.T) {
	checkNoLeak(t)
	const classes = 5
	xtr, ytr := blobs(1, 2000, classes, 8, 0.05, 3)
	xva, yva := blobs(2, 1000, classes, 8, 0.05, 3)
	dtr := dmatrix(t, xtr, ytr, nil)
	dva := dmatrix(t, xva, yva, nil)
	params := Params{Objective: MultiSoftprob, NumClass: classes, MaxDepth: 4, Eta: 0.3, NumThreads: 2, Seed: 1,
		EvalMetrics: []string{"merror", "mlogloss"}}
	var rounds []Round
	b, err := Train(context.Background(), params, dtr, TrainOptions{
		Rounds: 20,
		Evals:  []Eval{{"train", dtr}, {"valid", dva}},
		OnRound: func(r Round) error {
			rounds = append(rounds, r)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	p, err := b.Predict(xva, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != xva.Rows || p.Cols != classes {
		t.Fatalf("prediction shape %d×%d, want %d×%d", p.Rows, p.Cols, xva.Rows, classes)
	}
	for i := range p.Rows {
		var sum float32
		for _, v := range p.Row(i) {
			sum += v
		}
		if math.Abs(float64(sum)-1) > 1e-5 {
			t.Fatalf("row %d probabilities sum to %v", i, sum)
		}
	}
	if acc := accuracy(p, yva); acc < 0.9 {
		t.Errorf("validation accuracy %.3f, want ≥ 0.9 (chance is 0.2)", acc)
	}

	// The callback saw every round with both metrics of both sets, in order.
	if len(rounds) != 20 {
		t.Fatalf("OnRound called %d times, want 20", len(rounds))
	}
	var got []string
	for _, m := range rounds[0].Metrics {
		got = append(got, m.Eval+"-"+m.Name)
	}
	want := []string{"train-merror", "train-mlogloss", "valid-merror", "valid-mlogloss"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round 0 metrics (-want +got):\n%s", diff)
	}
	first, last := rounds[0].Metrics[3].Value, rounds[19].Metrics[3].Value
	if !(last < first) {
		t.Errorf("valid mlogloss went from %v to %v, want a decrease", first, last)
	}
	// DMatrix prediction agrees with in-place prediction.
	pd, err := b.PredictDMatrix(dva, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, pd); diff != "" {
		t.Errorf("PredictDMatrix differs from Predict (-inplace +dmatrix):\n%s", diff)
	}
	if n, err := b.BoostedRounds(); err != nil || n != 20 {
		t.Errorf("BoostedRounds = %d, %v; want 20", n, err)
	}
	if n, err := b.NumFeatures(); err != nil || n != 8 {
		t.Errorf("NumFeatures = %d, %v; want 8", n, err)
	}
}

func TestRegressionObjectives(t *testing.T) {
	checkNoLeak(t)
	// y = 3·x0 − 2·x1 + noise, with a few gross outliers.
	x, _ := noise(3, 2000, 2, 3)
	y := make([]float32, x.Rows)
	for i := range y {
		y[i] = 3*x.Data[i*3] - 2*x.Data[i*3+1]
		if i%97 == 0 {
			y[i] += 50
		}
	}
	d := dmatrix(t, x, y, nil)
	for _, obj := range []Objective{RegSquaredError, RegPseudoHuberError} {
		t.Run(string(obj), func(t *testing.T) {
			b, err := Train(context.Background(), Params{Objective: obj, MaxDepth: 4, Eta: 0.3, NumThreads: 2}, d,
				TrainOptions{Rounds: 60})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			p, err := b.Predict(x, PredictOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Rows != x.Rows || p.Cols != 1 {
				t.Fatalf("shape %d×%d, want %d×1", p.Rows, p.Cols, x.Rows)
			}
			// Median absolute error on clean rows: small against the target's range of ~5.
			var errs []float64
			for i, v := range p.Values {
				if i%97 != 0 {
					errs = append(errs, math.Abs(float64(v-(3*x.Data[i*3]-2*x.Data[i*3+1]))))
				}
			}
			if m := median(errs); m > 0.5 {
				t.Errorf("median absolute error %.3f, want ≤ 0.5", m)
			}
		})
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s { // insertion sort: small inputs
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

func TestEarlyStopping(t *testing.T) {
	checkNoLeak(t)
	// Labels are noise: every tree fits the training set better and the
	// validation set worse, so the validation loss rises after the first rounds.
	xtr, ytr := noise(10, 500, 3, 5)
	xva, yva := noise(11, 500, 3, 5)
	dtr := dmatrix(t, xtr, ytr, nil)
	dva := dmatrix(t, xva, yva, nil)
	params := Params{Objective: MultiSoftprob, NumClass: 3, MaxDepth: 6, Eta: 0.5, NumThreads: 2,
		Extra: map[string]string{"min_child_weight": "0"}}
	const maxRounds, patience = 100, 3

	train := func(keepAll bool) (*Booster, []Round) {
		t.Helper()
		var rounds []Round
		b, err := Train(context.Background(), params, dtr, TrainOptions{
			Rounds: maxRounds, Evals: []Eval{{"train", dtr}, {"valid", dva}},
			EarlyStoppingRounds: patience, KeepAllRounds: keepAll,
			OnRound: func(r Round) error { rounds = append(rounds, r); return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b, rounds
	}
	best, rounds := train(false)
	all, _ := train(true)

	last := rounds[len(rounds)-1]
	if len(rounds) >= maxRounds {
		t.Fatalf("trained all %d rounds, want an early stop", maxRounds)
	}
	if got := len(rounds); got != last.BestIteration+1+patience {
		t.Errorf("trained %d rounds, want best %d + 1 + patience %d", got, last.BestIteration, patience)
	}
	for _, r := range rounds[last.BestIteration+1:] {
		if !(r.Metrics[1].Value >= last.BestScore) {
			t.Errorf("round %d valid loss %v beats best %v", r.Iteration, r.Metrics[1].Value, last.BestScore)
		}
	}
	if n, _ := best.BoostedRounds(); n != last.BestIteration+1 {
		t.Errorf("kept model has %d rounds, want %d", n, last.BestIteration+1)
	}
	if n, _ := all.BoostedRounds(); n != len(rounds) {
		t.Errorf("KeepAllRounds model has %d rounds, want %d", n, len(rounds))
	}
	if it, ok, err := best.BestIteration(); err != nil || !ok || it != last.BestIteration {
		t.Errorf("BestIteration() = %d, %v, %v; want %d", it, ok, err, last.BestIteration)
	}
	// The kept model is the full one cut at the best round.
	pBest, err := best.Predict(xva, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pRange, err := all.Predict(xva, PredictOptions{IterationEnd: last.BestIteration + 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pRange, pBest); diff != "" {
		t.Errorf("truncated model differs from iteration range (-range +truncated):\n%s", diff)
	}
	pAll, err := all.Predict(xva, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(pAll, pBest) {
		t.Error("full model predicts like the truncated one; iteration range had no effect")
	}
}

func TestWeightsChangeModel(t *testing.T) {
	checkNoLeak(t)
	// One constant feature, so the model can only learn the (weighted) mean:
	// half the rows say 0 and half say 10; weights 1 and 9 move the mean to 9.
	const n = 1000
	x := Matrix{Data: make([]float32, n), Rows: n, Cols: 1}
	y := make([]float32, n)
	w := make([]float32, n)
	for i := range y {
		if i%2 == 0 {
			y[i], w[i] = 0, 1
		} else {
			y[i], w[i] = 10, 9
		}
	}
	params := Params{Objective: RegSquaredError, Eta: 1, NumThreads: 1}
	predict := func(weights []float32) float32 {
		d := dmatrix(t, x, y, weights)
		b, err := Train(context.Background(), params, d, TrainOptions{Rounds: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		p, err := b.Predict(Matrix{Data: []float32{0}, Rows: 1, Cols: 1}, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Values[0]
	}
	unweighted, weighted := predict(nil), predict(w)
	if math.Abs(float64(unweighted)-5) > 0.05 {
		t.Errorf("unweighted prediction %v, want ≈ 5", unweighted)
	}
	if math.Abs(float64(weighted)-9) > 0.05 {
		t.Errorf("weighted prediction %v, want ≈ 9", weighted)
	}
	d := dmatrix(t, x, y, w)
	if got, err := d.Weights(); err != nil || !cmp.Equal(got, w) {
		t.Errorf("Weights() round trip failed: %v", err)
	}
}

func TestTrainErrors(t *testing.T) {
	checkNoLeak(t)
	x, y := blobs(4, 100, 3, 4, 0, 3)
	d := dmatrix(t, x, y, nil)
	tests := []struct {
		name   string
		params Params
		opts   TrainOptions
		want   string // substring of the error
	}{
		{"unknown objective", Params{Objective: "multi:bogus"}, TrainOptions{Rounds: 1},
			"xgb: train round 0: Unknown objective function: `multi:bogus`"},
		{"quantile objective needs XGBoost 2.0", Params{Objective: "reg:quantileerror"}, TrainOptions{Rounds: 1},
			"Unknown objective function: `reg:quantileerror`"},
		{"softprob without num_class", Params{Objective: MultiSoftprob}, TrainOptions{Rounds: 1},
			"value 0 for Parameter num_class should be greater equal to 1"},
		{"malformed max_depth", Params{Extra: map[string]string{"max_depth": "deep"}}, TrainOptions{Rounds: 1},
			"Invalid Parameter format for max_depth expect int but value='deep'"},
		{"label out of range", Params{Objective: MultiSoftprob, NumClass: 2}, TrainOptions{Rounds: 1},
			"label must be in [0, num_class)"},
		{"unknown metric", Params{EvalMetrics: []string{"nosuch"}}, TrainOptions{Rounds: 1, Evals: []Eval{{"train", d}}},
			"Unknown metric function nosuch"},
		{"no rounds", Params{}, TrainOptions{}, "xgb: train: rounds 0"},
		{"early stopping without evals", Params{}, TrainOptions{Rounds: 5, EarlyStoppingRounds: 2},
			"early stopping needs at least one eval set"},
		{"eval name with colon", Params{}, TrainOptions{Rounds: 1, Evals: []Eval{{"a:b", d}}}, `eval name "a:b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Train(context.Background(), tt.params, d, tt.opts)
			if err == nil {
				b.Close()
				t.Fatalf("Train succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}

	t.Run("XGBoost errors are *Error", func(t *testing.T) {
		_, err := Train(context.Background(), Params{Objective: "multi:bogus"}, d, TrainOptions{Rounds: 1})
		var xe *Error
		if !errors.As(err, &xe) || xe.Op != "train round 0" || strings.Contains(xe.Msg, "Stack trace") {
			t.Errorf("errors.As(%v) = %+v", err, xe)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Train(ctx, Params{}, d, TrainOptions{Rounds: 100, OnRound: func(r Round) error {
			if r.Iteration == 2 {
				cancel()
			}
			return nil
		}})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "before round 3") {
			t.Errorf("error %v, want context.Canceled before round 3", err)
		}
	})
	t.Run("callback error stops training", func(t *testing.T) {
		stop := errors.New("stop")
		_, err := Train(context.Background(), Params{}, d, TrainOptions{Rounds: 100, OnRound: func(Round) error { return stop }})
		if !errors.Is(err, stop) {
			t.Errorf("error %v, want the callback's", err)
		}
	})
	t.Run("closed dmatrix", func(t *testing.T) {
		c := dmatrix(t, x, y, nil)
		c.Close()
		c.Close() // idempotent
		_, err := Train(context.Background(), Params{}, c, TrainOptions{Rounds: 1})
		if !errors.Is(err, ErrClosed) {
			t.Errorf("error %v, want ErrClosed", err)
		}
	})
}

func TestDMatrixErrors(t *testing.T) {
	checkNoLeak(t)
	if _, err := NewDMatrix(Matrix{Data: make([]float32, 5), Rows: 2, Cols: 3}, 0); err == nil ||
		!strings.Contains(err.Error(), "xgb: new dmatrix: matrix shape 2×3 needs 6 values, have 5") {
		t.Errorf("short data: error %v", err)
	}
	d := dmatrix(t, Matrix{Data: make([]float32, 6), Rows: 2, Cols: 3}, nil, nil)
	if err := d.SetLabels([]float32{1}); err == nil || !strings.Contains(err.Error(), "xgb: set label: have 1 values for 2 rows") {
		t.Errorf("short labels: error %v", err)
	}
	if err := d.SetFeatureNames([]string{"a"}); err == nil {
		t.Error("SetFeatureNames with too few names succeeded")
	}
	for _, names := range [][]string{{"a", "a", "b"}, {"a", "b<", "c"}, {"a", "", "c"}} {
		if err := d.SetFeatureNames(names); err == nil || !strings.HasPrefix(err.Error(), "xgb: set feature names: ") {
			t.Errorf("SetFeatureNames(%q): error %v, want a refusal", names, err)
		}
	}
}

func TestParseEval(t *testing.T) {
	tests := []struct {
		text  string
		names []string
		want  []Metric
		err   bool
	}{
		{"[0]\ttrain-mlogloss:0.5\tvalid-mlogloss:0.75", []string{"train", "valid"},
			[]Metric{{"train", "mlogloss", 0.5}, {"valid", "mlogloss", 0.75}}, false},
		{"[12]\tvalid-ndcg@5-:0.25\tvalid-error@0.7:0.125", []string{"valid"},
			[]Metric{{"valid", "ndcg@5-", 0.25}, {"valid", "error@0.7", 0.125}}, false},
		// The longest eval name wins when one is a prefix of another.
		{"[1]\ttrain-a-rmse:1\ttrain-rmse:2", []string{"train", "train-a"},
			[]Metric{{"train-a", "rmse", 1}, {"train", "rmse", 2}}, false},
		{"[3]\tvalid-auc:nan", []string{"valid"}, []Metric{{"valid", "auc", math.NaN()}}, false},
		{"", []string{"a"}, nil, true},
		{"[0]\tother-rmse:1", []string{"train"}, nil, true},
		{"[0]\ttrain-rmse", []string{"train"}, nil, true},
		{"[0]\ttrain-:1", []string{"train"}, nil, true},
		{"[0]\ttrain-rmse:x", []string{"train"}, nil, true},
	}
	for _, tt := range tests {
		got, err := parseEval(tt.text, tt.names)
		if (err != nil) != tt.err {
			t.Errorf("parseEval(%q) error %v, want error %v", tt.text, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b float64) bool {
			return a == b || math.IsNaN(a) && math.IsNaN(b)
		})); diff != "" {
			t.Errorf("parseEval(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
}

func FuzzParseEval(f *testing.F) {
	f.Add("[0]\ttrain-mlogloss:0.5\tvalid-mlogloss:0.75", "valid")
	f.Add("[12]\tvalid-ndcg@5-:0.25", "valid")
	f.Add("[1]\tx-y-z:1e9", "x-y")
	f.Fuzz(func(t *testing.T, text, name string) {
		names := []string{"train", name}
		ms, err := parseEval(text, names)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Eval != "train" && m.Eval != name || m.Name == "" {
				t.Fatalf("parseEval(%q, %q) gave metric %+v", text, name, m)
			}
		}
	})
}

func TestImproves(t *testing.T) {
	tests := []struct {
		metric      string
		score, best float64
		want        bool
	}{
		{"mlogloss", 0.4, 0.5, true},
		{"mlogloss", 0.5, 0.5, false},
		{"auc", 0.9, 0.8, true},
		{"auc", 0.7, 0.8, false},
		{"aucpr", 0.9, 0.8, true},
		{"ndcg@5", 0.9, 0.8, true},
		{"map@10-", 0.9, 0.8, true},
		{"merror", math.NaN(), 0.5, false},
		{"merror", 0.5, math.NaN(), true},
	}
	for _, tt := range tests {
		if got := improves(tt.metric, tt.score, tt.best); got != tt.want {
			t.Errorf("improves(%q, %v, %v) = %v, want %v", tt.metric, tt.score, tt.best, got, tt.want)
		}
	}
}

func TestCleanMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[22:30:01] /build/xgboost-1.7.4/src/learner.cc:123: Unknown objective\nStack trace:\n  [bt] (0) x", "Unknown objective"},
		{"plain message", "plain message"},
		{"[12:00:00] bracket without file: kept", "bracket without file: kept"},
		{"", "unknown error"},
	}
	for _, tt := range tests {
		if got := cleanMessage(tt.in); got != tt.want {
			t.Errorf("cleanMessage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
