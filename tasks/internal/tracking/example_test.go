package tracking_test

import (
	"context"
	"fmt"
	"os"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// A train task logs its run like this (the server comes from
// MLFLOW_TRACKING_URI).
func Example() {
	ctx := context.Background()
	train := func(ctx context.Context) (err error) {
		cfg, err := tracking.ConfigFromEnv(os.Getenv)
		if err != nil {
			return err
		}
		tr, err := tracking.New(cfg)
		if err != nil {
			return err
		}
		run, err := tr.StartRun(ctx, "", "train-2022-W12", tracking.RunTags{
			Kind: tracking.Classifier, Tables: map[string]int64{"flow_features": 7}})
		if err != nil {
			return err
		}
		defer func() { err = run.EndWith(context.WithoutCancel(ctx), err) }()
		if err := run.LogParams(ctx, map[string]string{"rounds": "30"}); err != nil {
			return err
		}
		if err := run.LogHistory(ctx, "valid_mlogloss", []float64{0.9, 0.5, 0.4}); err != nil {
			return err
		}
		// ... save the bundle to dir, then:
		// run.LogBundle(ctx, dir, tracking.ModelSpec{Kind: tracking.Classifier, Format: classify.BundleFormat,
		//	XGBoostModel: "xgb/model.json", XGBVersion: xgb.Version(), Classes: classes})
		return run.LogEvaluation(ctx, tracking.Evaluation{Window: "2022-W13",
			Scores: map[string]float64{"macro_f1": 0.81}, ClassRecall: map[string]float64{"netflix": 0.93}})
	}
	_ = train(ctx)
}

func ExampleHigherIsBetter() {
	for _, m := range []string{"macro_f1", "mase", "coverage_80"} {
		higher, ok := tracking.HigherIsBetter(m)
		fmt.Println(m, higher, ok)
	}
	// Output:
	// macro_f1 true true
	// mase false true
	// coverage_80 false false
}

func ExampleMetricKey() {
	fmt.Println(tracking.MetricKey("class_recall/" + "google-www"))
	fmt.Println(tracking.MetricKey("class_recall/" + "ünï?"))
	// Output:
	// class_recall/google-www
	// class_recall/_n__
}
