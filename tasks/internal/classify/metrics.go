package classify

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Confusion is a confusion matrix: M[t][p] counts flows of true class t
// predicted as p.
type Confusion struct {
	Labels []string  `json:"labels"`
	M      [][]int64 `json:"matrix"`
}

// NewConfusion returns an empty matrix over labels.
func NewConfusion(labels []string) *Confusion {
	c := &Confusion{Labels: slices.Clone(labels), M: make([][]int64, len(labels))}
	for i := range c.M {
		c.M[i] = make([]int64, len(labels))
	}
	return c
}

// Add counts one flow.
func (c *Confusion) Add(truth, pred int) { c.M[truth][pred]++ }

// ClassScore holds one class's scores. Precision is 0 for a class never
// predicted and recall 0 for a class without flows (as scikit-learn does).
type ClassScore struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int64   `json:"support"`   // true flows
	Predicted int64   `json:"predicted"` // flows predicted as the class
}

// Scores summarises a confusion matrix. Macro averages run over the classes
// that occur in the truth or the predictions (scikit-learn's default label
// set); weighted F1 weighs classes by support.
type Scores struct {
	Flows          int64        `json:"flows"`
	Accuracy       float64      `json:"accuracy"`
	MacroF1        float64      `json:"macro_f1"`
	MacroRecall    float64      `json:"macro_recall"`
	MacroPrecision float64      `json:"macro_precision"`
	WeightedF1     float64      `json:"weighted_f1"`
	Classes        int          `json:"classes"` // in the macro averages
	PerClass       []ClassScore `json:"per_class,omitempty"`
}

// Scores computes the scores; perClass keeps the per-class table.
func (c *Confusion) Scores(perClass bool) Scores {
	k := len(c.Labels)
	var s Scores
	var correct int64
	pred := make([]int64, k)
	sup := make([]int64, k)
	for t := range k {
		for p := range k {
			n := c.M[t][p]
			s.Flows += n
			sup[t] += n
			pred[p] += n
			if t == p {
				correct += n
			}
		}
	}
	if s.Flows == 0 {
		return s
	}
	s.Accuracy = float64(correct) / float64(s.Flows)
	for i := range k {
		if sup[i] == 0 && pred[i] == 0 {
			continue
		}
		cs := ClassScore{Class: c.Labels[i], Support: sup[i], Predicted: pred[i]}
		tp := float64(c.M[i][i])
		if pred[i] > 0 {
			cs.Precision = tp / float64(pred[i])
		}
		if sup[i] > 0 {
			cs.Recall = tp / float64(sup[i])
		}
		if cs.Precision+cs.Recall > 0 {
			cs.F1 = 2 * cs.Precision * cs.Recall / (cs.Precision + cs.Recall)
		}
		s.Classes++
		s.MacroF1 += cs.F1
		s.MacroRecall += cs.Recall
		s.MacroPrecision += cs.Precision
		s.WeightedF1 += cs.F1 * float64(sup[i]) / float64(s.Flows)
		if perClass {
			s.PerClass = append(s.PerClass, cs)
		}
	}
	n := float64(s.Classes)
	s.MacroF1 /= n
	s.MacroRecall /= n
	s.MacroPrecision /= n
	return s
}

// Collapse maps the matrix onto groups (e.g. categories): group[i] is the
// group index of label i.
func (c *Confusion) Collapse(groups []string, group []int) *Confusion {
	out := NewConfusion(groups)
	for t, row := range c.M {
		for p, n := range row {
			out.M[group[t]][group[p]] += n
		}
	}
	return out
}

// WriteCSV writes the matrix with a header row of predicted labels and one
// row per true label.
func (c *Confusion) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{`true\predicted`}, c.Labels...)); err != nil {
		return err
	}
	rec := make([]string, len(c.Labels)+1)
	for t, row := range c.M {
		rec[0] = c.Labels[t]
		for p, n := range row {
			rec[p+1] = strconv.FormatInt(n, 10)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// argmaxRows returns the column of the largest value of each row of an
// N × k matrix.
func argmaxRows(p []float32, k int) []int {
	out := make([]int, len(p)/k)
	for i := range out {
		row := p[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out
}

// macroF1 returns the macro-F1 of predictions pred against labels over k
// classes (rows with label < 0 are skipped).
func macroF1(pred, labels []int, k int) float64 {
	tp := make([]float64, k)
	np := make([]float64, k)
	nt := make([]float64, k)
	for i, y := range labels {
		if y < 0 {
			continue
		}
		nt[y]++
		np[pred[i]]++
		if pred[i] == y {
			tp[y]++
		}
	}
	var sum, n float64
	for c := range k {
		if nt[c] == 0 && np[c] == 0 {
			continue
		}
		n++
		if tp[c] > 0 {
			sum += 2 * tp[c] / (nt[c] + np[c])
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// TPRAtFPR measures an open-set detector whose confidence is low for
// unknown flows: with the largest threshold t that rejects (confidence < t)
// at most fpr of the known flows, it returns the share of unknown flows
// rejected (the true positive rate), the false positive rate reached and t.
func TPRAtFPR(known, unknown []float32, fpr float64) (tpr, fprAt float64, threshold float32) {
	if len(known) == 0 {
		return math.NaN(), math.NaN(), 0
	}
	threshold = rejectThreshold(known, fpr)
	var fp, tp int
	for _, v := range known {
		if v < threshold {
			fp++
		}
	}
	for _, v := range unknown {
		if v < threshold {
			tp++
		}
	}
	tpr = math.NaN()
	if len(unknown) > 0 {
		tpr = float64(tp) / float64(len(unknown))
	}
	return tpr, float64(fp) / float64(len(known)), threshold
}

// rejectThreshold returns the largest t such that at most fpr of scores are
// below t: the ⌊fpr·n⌋-th smallest score (0-based).
func rejectThreshold(scores []float32, fpr float64) float32 {
	s := slices.Clone(scores)
	slices.Sort(s)
	j := int(math.Floor(fpr * float64(len(s))))
	if j >= len(s) {
		return float32(math.Inf(1))
	}
	return s[j]
}

// maxProb returns each row's highest probability.
func maxProb(p []float32, k int) []float32 {
	out := make([]float32, len(p)/k)
	for i := range out {
		out[i] = slices.Max(p[i*k : (i+1)*k])
	}
	return out
}

func fmtPct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}
