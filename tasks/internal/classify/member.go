package classify

import (
	"context"
	"fmt"
	"io"
	"math"
)

// Member is one model of the ensemble. Fit trains it on prepared inputs with
// labels, early-stopping on val; PredictProba returns N × K class
// probabilities, row-major, columns in Transforms.Classes order.
type Member interface {
	// Kind names the member type ("xgb", "xgb-hier", "seqnet", "lstm", "mmcesnet", "linear"); it is the
	// member's folder in a bundle.
	Kind() string
	Fit(ctx context.Context, train, val *Inputs, progress io.Writer) error
	PredictProba(ctx context.Context, in *Inputs) ([]float32, error)
	// Save writes the member's files into dir (its own folder).
	Save(dir string) error
	// SetThreads bounds the cores one prediction call uses (0: default).
	SetThreads(n int) error
	Close() error
}

// MemberConfig holds the settings of every member kind.
type MemberConfig struct {
	XGB    XGBConfig
	Seqnet SeqnetConfig
	LSTM   LSTMConfig
	MM     MMConfig
	Linear LinearConfig
}

// NewMember returns an untrained member of a kind.
func NewMember(kind string, c MemberConfig) (Member, error) {
	switch kind {
	case "xgb":
		return &XGBMember{Config: c.XGB}, nil
	case "xgb-hier":
		return &XGBHierMember{Config: c.XGB}, nil
	case "seqnet":
		return &SeqnetMember{Config: c.Seqnet}, nil
	case "lstm":
		return &LSTMMember{Config: c.LSTM}, nil
	case "mmcesnet":
		return &MMMember{Config: c.MM}, nil
	case "linear":
		return &LinearMember{Config: c.Linear}, nil
	}
	return nil, fmt.Errorf("classify: unknown member kind %q (want xgb, xgb-hier, seqnet, lstm, mmcesnet or linear)", kind)
}

// LoadMember reads a member of a kind saved in dir.
func LoadMember(kind, dir string, t *Transforms) (Member, error) {
	switch kind {
	case "xgb":
		return loadXGB(dir, t)
	case "xgb-hier":
		return loadXGBHier(dir, t)
	case "seqnet":
		return loadSeqnet(dir, t)
	case "lstm":
		return loadLSTM(dir, t)
	case "mmcesnet":
		return loadMM(dir, t)
	case "linear":
		return loadLinear(dir, t)
	}
	return nil, fmt.Errorf("classify: unknown member kind %q in bundle", kind)
}

// classWeights returns inverse-frequency class weights n/(K·n_c) raised to
// power and capped at maxW (classes without rows weigh 0), normalised so
// that the mean weight per row is 1.
func classWeights(labels []int, k int, power, maxW float64) []float64 {
	count := make([]float64, k)
	for _, y := range labels {
		if y >= 0 {
			count[y]++
		}
	}
	n := float64(len(labels))
	w := make([]float64, k)
	var sum float64
	for c, nc := range count {
		if nc == 0 {
			continue
		}
		w[c] = math.Min(math.Pow(n/(float64(k)*nc), power), maxW)
		sum += w[c] * nc
	}
	if sum > 0 {
		for c := range w {
			w[c] *= n / sum
		}
	}
	return w
}

// labelsOf checks that every row of in has a class label and returns them.
func labelsOf(in *Inputs, what string) ([]int, error) {
	if len(in.Labels) != in.Len() {
		return nil, fmt.Errorf("classify: %s: %d labels for %d rows", what, len(in.Labels), in.Len())
	}
	k := in.Classes()
	for i, y := range in.Labels {
		if y < 0 || y >= k {
			return nil, fmt.Errorf("classify: %s: row %d has label %d, not a class", what, i, y)
		}
	}
	return in.Labels, nil
}
