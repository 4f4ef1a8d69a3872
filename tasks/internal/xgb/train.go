package xgb

/*
#include <stdlib.h>
#include <xgboost/c_api.h>
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Eval is a named data set scored after every boosting round.
type Eval struct {
	Name string // no spaces, tabs or ':'; "train", "valid", …
	Data *DMatrix
}

// Metric is one evaluation metric of one data set after one round.
type Metric struct {
	Eval  string // Eval.Name
	Name  string // XGBoost's metric name: "mlogloss", "merror", "rmse", …
	Value float64
}

// Round reports a finished boosting round to TrainOptions.OnRound.
type Round struct {
	Iteration int      // 0-based
	Metrics   []Metric // in XGBoost's order: per eval set, per metric
	// BestIteration and BestScore track the early stopping metric (the last
	// metric of the last eval set); BestIteration is -1 without eval sets.
	BestIteration int
	BestScore     float64
}

// TrainOptions control Train.
type TrainOptions struct {
	Rounds int    // maximum boosting rounds (> 0)
	Evals  []Eval // scored after each round, in order
	// EarlyStoppingRounds > 0 stops training when the last metric of the last Eval
	// has not improved for that many rounds, as Python's xgboost.train does.
	// Metrics named auc*, aucpr*, map*, ndcg* and pre* improve upwards, others
	// downwards.
	EarlyStoppingRounds int
	// KeepAllRounds keeps the rounds after the best one when early stopping
	// stops training. By default the returned model ends at the best round, so
	// Predict, saved files and other bindings all use the best model.
	KeepAllRounds bool
	// OnRound, when set, is called after every round, e.g. to log metrics. An
	// error stops training and is returned.
	OnRound func(Round) error
}

// Train boosts a new model on dtrain. ctx is checked between rounds. dtrain and
// the Eval sets must stay open until Train returns; the model does not need them
// afterwards. The best round and score are saved as model attributes
// "best_iteration" and "best_score" when there are Eval sets.
func Train(ctx context.Context, params Params, dtrain *DMatrix, opts TrainOptions) (*Booster, error) {
	if opts.Rounds <= 0 {
		return nil, fmt.Errorf("xgb: train: rounds %d, need > 0", opts.Rounds)
	}
	if opts.EarlyStoppingRounds > 0 && len(opts.Evals) == 0 {
		return nil, errors.New("xgb: train: early stopping needs at least one eval set")
	}
	names := make([]string, len(opts.Evals))
	for i, e := range opts.Evals {
		if e.Name == "" || strings.ContainsFunc(e.Name, func(r rune) bool { return r == ':' || unicode.IsSpace(r) }) {
			return nil, fmt.Errorf("xgb: train: eval name %q: must be non-empty without spaces or ':'", e.Name)
		}
		if e.Data == nil {
			return nil, fmt.Errorf("xgb: train: eval %q: nil data", e.Name)
		}
		names[i] = e.Name
	}

	// Hold the data for the whole training.
	all := []*DMatrix{dtrain}
	for _, e := range opts.Evals {
		all = append(all, e.Data)
	}
	handles, unlock, err := lockAll("train", all)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if dtrain.rows == 0 {
		return nil, errors.New("xgb: train: no training rows")
	}
	htrain := handles[dtrain]
	hevals := make([]C.DMatrixHandle, len(opts.Evals))
	for i, e := range opts.Evals {
		hevals[i] = handles[e.Data]
	}

	b, err := newBooster("train", append([]C.DMatrixHandle{htrain}, hevals...))
	if err != nil {
		return nil, err
	}
	hm := b.home // b is not shared until Train returns
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	for _, p := range params.pairs() {
		if err := setParam(hm, "train", p.key, p.value); err != nil {
			return nil, err
		}
	}
	if len(dtrain.names) > 0 {
		// As Python's Booster does, so the names are saved with the model.
		if err := setStrFeatureInfo(hm.call, "train", dtrain.names, func(field *C.char, arr **C.char, n C.bst_ulong) C.int {
			return C.XGBoosterSetStrFeatureInfo(hm.handle, field, arr, n)
		}); err != nil {
			return nil, err
		}
	}

	cnames, freeNames := cStrings(names)
	defer freeNames()
	best := Round{BestIteration: -1}
	stopped := false
	for i := 0; i < opts.Rounds; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("xgb: train: before round %d: %w", i, err)
		}
		op := "train round " + strconv.Itoa(i)
		if err := hm.call(op, func() C.int { return C.XGBoosterUpdateOneIter(hm.handle, C.int(i), htrain) }); err != nil {
			return nil, err
		}
		r := Round{Iteration: i, BestIteration: -1}
		if len(hevals) > 0 {
			var text string
			if err := hm.call("eval round "+strconv.Itoa(i), func() C.int {
				var out *C.char
				rc := C.XGBoosterEvalOneIter(hm.handle, C.int(i), &hevals[0], cnames, C.bst_ulong(len(hevals)), &out)
				if rc == 0 {
					text = C.GoString(out)
				}
				return rc
			}); err != nil {
				return nil, err
			}
			if r.Metrics, err = parseEval(text, names); err != nil {
				return nil, fmt.Errorf("xgb: eval round %d: %w", i, err)
			}
			score, metric, err := stoppingScore(r.Metrics, names[len(names)-1])
			if err != nil {
				return nil, fmt.Errorf("xgb: eval round %d: %w", i, err)
			}
			if best.BestIteration < 0 || improves(metric, score, best.BestScore) {
				best.BestIteration, best.BestScore = i, score
				if err := setAttr(hm, "best_iteration", strconv.Itoa(i)); err != nil {
					return nil, err
				}
				if err := setAttr(hm, "best_score", strconv.FormatFloat(score, 'g', -1, 64)); err != nil {
					return nil, err
				}
			}
			r.BestIteration, r.BestScore = best.BestIteration, best.BestScore
		}
		if opts.OnRound != nil {
			if err := opts.OnRound(r); err != nil {
				return nil, fmt.Errorf("xgb: train: round %d callback: %w", i, err)
			}
		}
		if opts.EarlyStoppingRounds > 0 && i-best.BestIteration >= opts.EarlyStoppingRounds {
			stopped = true
			break
		}
	}
	if stopped && !opts.KeepAllRounds {
		s, err := sliceBooster(hm, "train keep best", 0, best.BestIteration+1)
		if err != nil {
			return nil, err
		}
		b.Close()
		b = s
	}
	ok = true
	return b, nil
}

// parseEval parses XGBoosterEvalOneIter's text, "[3]\ttrain-mlogloss:0.51\tvalid-mlogloss:0.62".
// Eval names are matched against names, since metric names may contain '-'.
func parseEval(text string, names []string) ([]Metric, error) {
	fields := strings.Fields(text)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "[") || !strings.HasSuffix(fields[0], "]") {
		return nil, fmt.Errorf("eval output %q: no [round] prefix", text)
	}
	var out []Metric
	for _, f := range fields[1:] {
		colon := strings.LastIndexByte(f, ':')
		if colon < 0 {
			return nil, fmt.Errorf("eval output %q: field %q has no ':'", text, f)
		}
		key, val := f[:colon], f[colon+1:]
		eval := ""
		for _, n := range names {
			if strings.HasPrefix(key, n+"-") && len(n) > len(eval) {
				eval = n
			}
		}
		if eval == "" || len(key) == len(eval)+1 {
			return nil, fmt.Errorf("eval output %q: field %q names no eval set and metric", text, f)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("eval output %q: field %q: %w", text, f, err)
		}
		out = append(out, Metric{Eval: eval, Name: key[len(eval)+1:], Value: v})
	}
	return out, nil
}

// stoppingScore returns the last metric of eval set name, which drives early
// stopping as in Python's xgboost.
func stoppingScore(ms []Metric, name string) (float64, string, error) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Eval == name {
			return ms[i].Value, ms[i].Name, nil
		}
	}
	return 0, "", fmt.Errorf("no metric for eval set %q", name)
}

// improves reports whether score beats best for metric; NaN never improves.
func improves(metric string, score, best float64) bool {
	if math.IsNaN(score) {
		return false
	}
	if math.IsNaN(best) {
		return true
	}
	for _, p := range []string{"auc", "aucpr", "map", "ndcg", "pre"} {
		if metric == p || strings.HasPrefix(metric, p+"@") {
			return score > best
		}
	}
	return score < best
}
