package classify

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// confusionOf builds a matrix from rows of counts.
func confusionOf(labels []string, m [][]int64) *Confusion {
	c := NewConfusion(labels)
	for t, row := range m {
		for p, n := range row {
			for range n {
				c.Add(t, p)
			}
		}
	}
	return c
}

func TestScoresHandComputed(t *testing.T) {
	approx := cmpopts.EquateApprox(0, 1e-9)
	tests := []struct {
		name string
		m    [][]int64
		want Scores
	}{{
		// a: tp 5, support 7, predicted 6 → P 5/6, R 5/7, F1 10/13
		// b: tp 3, support 4, predicted 5 → P 3/5, R 3/4, F1 6/9
		// c: tp 0, support 1, predicted 1 → 0, 0, 0
		name: "three classes",
		m:    [][]int64{{5, 2, 0}, {0, 3, 1}, {1, 0, 0}},
		want: Scores{
			Flows: 12, Accuracy: 8.0 / 12, Classes: 3,
			MacroF1:        (10.0/13 + 6.0/9 + 0) / 3,
			MacroRecall:    (5.0/7 + 3.0/4) / 3,
			MacroPrecision: (5.0/6 + 3.0/5) / 3,
			WeightedF1:     (10.0/13*7 + 6.0/9*4) / 12,
			PerClass: []ClassScore{
				{Class: "a", Precision: 5.0 / 6, Recall: 5.0 / 7, F1: 10.0 / 13, Support: 7, Predicted: 6},
				{Class: "b", Precision: 3.0 / 5, Recall: 3.0 / 4, F1: 6.0 / 9, Support: 4, Predicted: 5},
				{Class: "c", Support: 1, Predicted: 1},
			},
		},
	}, {
		// c never occurs nor is predicted: left out of the macro averages.
		// b is predicted but has no flows: precision 0, recall 0, counted.
		name: "absent and predicted-only classes",
		m:    [][]int64{{3, 1, 0}, {0, 0, 0}, {0, 0, 0}},
		want: Scores{
			Flows: 4, Accuracy: 0.75, Classes: 2,
			MacroF1: (2 * 0.75 / 1.75) / 2, MacroRecall: 0.75 / 2, MacroPrecision: 0.5, WeightedF1: 2 * 0.75 / 1.75,
			PerClass: []ClassScore{
				{Class: "a", Precision: 1, Recall: 0.75, F1: 2 * 0.75 / 1.75, Support: 4, Predicted: 3},
				{Class: "b", Support: 0, Predicted: 1},
			},
		},
	}, {
		name: "empty",
		m:    [][]int64{{0, 0, 0}, {0, 0, 0}, {0, 0, 0}},
		want: Scores{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := confusionOf([]string{"a", "b", "c"}, tc.m).Scores(true)
			if d := cmp.Diff(tc.want, got, approx); d != "" {
				t.Errorf("scores (-want +got):\n%s", d)
			}
		})
	}
}

func TestMacroF1MatchesConfusion(t *testing.T) {
	pred := []int{0, 0, 1, 2, 1, 1, 0, 2}
	labels := []int{0, 1, 1, 2, 1, -1, 0, 0}
	c := NewConfusion([]string{"a", "b", "c"})
	for i, y := range labels {
		if y >= 0 {
			c.Add(y, pred[i])
		}
	}
	if got, want := macroF1(pred, labels, 3), c.Scores(false).MacroF1; math.Abs(got-want) > 1e-12 {
		t.Errorf("macroF1 %v, confusion %v", got, want)
	}
}

func TestCollapseAndCSV(t *testing.T) {
	c := confusionOf([]string{"a1", "a2", "b1"}, [][]int64{{4, 1, 1}, {2, 3, 0}, {0, 1, 5}})
	cat := c.Collapse([]string{"A", "B"}, []int{0, 0, 1})
	if d := cmp.Diff([][]int64{{10, 1}, {1, 5}}, cat.M); d != "" {
		t.Errorf("collapsed (-want +got):\n%s", d)
	}
	var b strings.Builder
	if err := cat.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := "true\\predicted,A,B\nA,10,1\nB,1,5\n"
	if b.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestTPRAtFPR(t *testing.T) {
	known := []float32{0.9, 0.8, 0.95, 0.3, 0.99, 0.7, 0.85, 0.6, 0.92, 0.88} // sorted: .3 .6 .7 .8 .85 .88 .9 .92 .95 .99
	unknown := []float32{0.2, 0.5, 0.65, 0.75, 0.95}
	tests := []struct {
		fpr     float64
		thr     float32
		tpr, at float64
	}{
		{0.05, 0.3, 0.2, 0},   // ⌊0.5⌋ = 0: no known below .3; unknown .2
		{0.10, 0.6, 0.4, 0.1}, // below .6: known .3; unknown .2 .5
		{0.25, 0.7, 0.6, 0.2}, // ⌊2.5⌋ = 2: below .7: known .3 .6; unknown .2 .5 .65
		{0.30, 0.8, 0.8, 0.3}, // below .8: known .3 .6 .7; unknown .2 .5 .65 .75
		{1.00, float32(math.Inf(1)), 1, 1},
	}
	for _, tc := range tests {
		tpr, at, thr := TPRAtFPR(known, unknown, tc.fpr)
		if thr != tc.thr || math.Abs(tpr-tc.tpr) > 1e-9 || math.Abs(at-tc.at) > 1e-9 {
			t.Errorf("fpr %v: tpr %v at fpr %v threshold %v; want %v, %v, %v", tc.fpr, tpr, at, thr, tc.tpr, tc.at, tc.thr)
		}
		if at > tc.fpr {
			t.Errorf("fpr %v: reached %v, above the target", tc.fpr, at)
		}
	}
	// Ties at the threshold are not rejected, so the FPR never overshoots.
	tied := []float32{0.5, 0.5, 0.5, 0.5}
	if _, at, _ := TPRAtFPR(tied, nil, 0.5); at != 0 {
		t.Errorf("ties: fpr %v, want 0", at)
	}
	if tpr, _, _ := TPRAtFPR(known, nil, 0.05); !math.IsNaN(tpr) {
		t.Errorf("no unknown flows: tpr %v, want NaN", tpr)
	}
}
