package xgb

import (
	"math"
	"slices"
	"strconv"
)

// Objective is XGBoost's learning task (parameter "objective").
type Objective string

// Objectives of libxgboost 1.7 used by the project. reg:quantileerror arrived in
// XGBoost 2.0 and is not available with the Debian 1.7 library.
const (
	MultiSoftprob       Objective = "multi:softprob"       // class probabilities, needs NumClass
	MultiSoftmax        Objective = "multi:softmax"        // class index, needs NumClass
	BinaryLogistic      Objective = "binary:logistic"      // probability of class 1
	RegSquaredError     Objective = "reg:squarederror"     // mean
	RegPseudoHuberError Objective = "reg:pseudohubererror" // robust mean; see HuberSlope
)

// Params are the booster parameters. A zero field is left out, so XGBoost's own
// default applies — except TreeMethod, which defaults to "hist". To pass a value
// whose zero is meaningful (lambda=0, min_child_weight=0) or any other parameter,
// use Extra.
type Params struct {
	TreeMethod      string    // "hist" when empty
	Objective       Objective // XGBoost's default is reg:squarederror
	NumClass        int       // num_class, for multi:*
	Eta             float64   // learning rate (XGBoost default 0.3)
	MaxDepth        int       // max_depth (default 6)
	MinChildWeight  float64   // min_child_weight (default 1)
	Subsample       float64   // subsample (default 1)
	ColsampleByTree float64   // colsample_bytree (default 1)
	Lambda          float64   // L2 regularisation (default 1)
	HuberSlope      float64   // huber_slope for reg:pseudohubererror (default 1)
	MaxBin          int       // max_bin for hist (default 256)
	NumThreads      int       // nthread (default: all cores)
	Seed            int64     // seed (default 0)
	// EvalMetrics lists eval_metric values in order; the last one drives early
	// stopping. Empty: the objective's default metric.
	EvalMetrics []string
	// Extra holds further parameters by XGBoost name; set after the fields above,
	// in key order, so an Extra entry overrides a field.
	Extra map[string]string
}

type param struct{ key, value string }

func (p Params) pairs() []param {
	var out []param
	add := func(k, v string) { out = append(out, param{k, v}) }
	num := func(k string, v float64) {
		if v != 0 {
			add(k, strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	integer := func(k string, v int64) {
		if v != 0 {
			add(k, strconv.FormatInt(v, 10))
		}
	}
	// Like the Python package: warn about parameters that no component uses.
	add("validate_parameters", "1")
	if p.TreeMethod == "" {
		add("tree_method", "hist")
	} else {
		add("tree_method", p.TreeMethod)
	}
	if p.Objective != "" {
		add("objective", string(p.Objective))
	}
	integer("num_class", int64(p.NumClass))
	num("eta", p.Eta)
	integer("max_depth", int64(p.MaxDepth))
	num("min_child_weight", p.MinChildWeight)
	num("subsample", p.Subsample)
	num("colsample_bytree", p.ColsampleByTree)
	num("lambda", p.Lambda)
	num("huber_slope", p.HuberSlope)
	integer("max_bin", int64(p.MaxBin))
	integer("nthread", int64(p.NumThreads))
	integer("seed", p.Seed)
	for _, m := range p.EvalMetrics {
		add("eval_metric", m)
	}
	keys := make([]string, 0, len(p.Extra))
	for k := range p.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(k, p.Extra[k])
	}
	return out
}

func float32NaN() float32 { return float32(math.NaN()) }
