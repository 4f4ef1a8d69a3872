package xgb_test

import (
	"context"
	"fmt"
	"log"

	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

func Example() {
	// Two features; class 1 when the first one is large.
	x := xgb.Matrix{Rows: 8, Cols: 2, Data: []float32{
		0.1, 5, 0.2, 3, 0.3, 4, 0.2, 1,
		0.9, 2, 0.8, 5, 0.7, 1, 0.9, 4,
	}}
	d, err := xgb.NewDMatrix(x, 1)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	d.SetLabels([]float32{0, 0, 0, 0, 1, 1, 1, 1})
	d.SetFeatureNames([]string{"ratio", "pkts"})

	params := xgb.Params{Objective: xgb.MultiSoftprob, NumClass: 2, MaxDepth: 2, NumThreads: 1,
		Extra: map[string]string{"min_child_weight": "0"}}
	b, err := xgb.Train(context.Background(), params, d, xgb.TrainOptions{
		Rounds: 3,
		Evals:  []xgb.Eval{{Name: "train", Data: d}},
		OnRound: func(r xgb.Round) error {
			fmt.Printf("round %d %s-%s %.4f\n", r.Iteration, r.Metrics[0].Eval, r.Metrics[0].Name, r.Metrics[0].Value)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	p, err := b.Predict(xgb.Matrix{Rows: 2, Cols: 2, Data: []float32{0.15, 2, 0.85, 3}}, xgb.PredictOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("classes:", p.ArgMax())
	imp, _ := b.FeatureImportance(xgb.TotalGain)
	fmt.Println("most important:", imp[0].Feature)
	// Output:
	// round 0 train-mlogloss 0.5130
	// round 1 train-mlogloss 0.3935
	// round 2 train-mlogloss 0.3098
	// classes: [0 1]
	// most important: ratio
}
