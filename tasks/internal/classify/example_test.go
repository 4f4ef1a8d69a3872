package classify_test

import (
	"fmt"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
)

func ExampleConfusion_Scores() {
	c := classify.NewConfusion([]string{"spotify", "teams"})
	for _, tp := range [][2]int{{0, 0}, {0, 0}, {0, 1}, {1, 1}} { // true, predicted
		c.Add(tp[0], tp[1])
	}
	s := c.Scores(true)
	fmt.Printf("accuracy %.2f, macro-F1 %.3f\n", s.Accuracy, s.MacroF1)
	for _, cs := range s.PerClass {
		fmt.Printf("%s: P %.2f R %.2f F1 %.2f\n", cs.Class, cs.Precision, cs.Recall, cs.F1)
	}
	// Output:
	// accuracy 0.75, macro-F1 0.733
	// spotify: P 1.00 R 0.67 F1 0.80
	// teams: P 0.50 R 1.00 F1 0.67
}

func ExampleTPRAtFPR() {
	// Highest ensemble probability of known and of unknown (held-out) flows.
	known := []float32{0.99, 0.95, 0.9, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.3}
	unknown := []float32{0.4, 0.5, 0.65, 0.9}
	tpr, fpr, threshold := classify.TPRAtFPR(known, unknown, 0.1)
	fmt.Printf("reject below %.2f: %.0f%% of unknown flows, %.0f%% of known flows\n", threshold, 100*tpr, 100*fpr)
	// Output:
	// reject below 0.60: 50% of unknown flows, 10% of known flows
}
