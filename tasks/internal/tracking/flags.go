package tracking

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RegisterFlags adds the register task's flags to fs.
func (o *RegisterOptions) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Name, "name", "", "registered model name (required)")
	fs.StringVar(&o.RunID, "run-id", "", "MLflow run whose model bundle to register (required)")
	fs.StringVar(&o.ArtifactPath, "artifact-path", BundleArtifactPath, "bundle directory in the run's artifacts")
	fs.StringVar(&o.Alias, "alias", AliasChallenger, "alias to point at the new version")
	fs.DurationVar(&o.Wait, "wait", 5*time.Minute, "how long to wait for the version to become READY")
	fs.StringVar(&o.Description, "description", "", "description of the registered model, if it is created")
	fs.Func("tag", "key=value tag set on the new version (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q: want key=value", s)
		}
		if o.Tags == nil {
			o.Tags = map[string]string{}
		}
		o.Tags[k] = v
		return nil
	})
	fs.Func("scores", "comma-separated run metrics copied to version tags besides "+strings.Join(HeadlineMetrics, ","), func(s string) error {
		for _, k := range strings.Split(s, ",") {
			if k = strings.TrimSpace(k); k != "" {
				o.Scores = append(o.Scores, k)
			}
		}
		return nil
	})
}

// RegisterFlags adds the promote task's flags to fs.
func (o *PromoteOptions) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Name, "name", "", "registered model name (required)")
	fs.StringVar(&o.Metric, "metric", "", "score to compare: macro_f1 (classifiers) or mase (forecasters) (required)")
	fs.BoolFunc("higher-is-better", "whether the metric improves upwards (default: inferred from its name; =false for downwards)", func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		o.HigherIsBetter = &v
		return nil
	})
	fs.Float64Var(&o.MinDelta, "min-delta", 0, "margin by which the challenger must beat the champion")
	fs.Float64Var(&o.RecallFloor, "recall-floor", DefaultRecallFloor, "per-class recall under which a class the champion recognised counts as collapsed; negative disables")
	fs.Float64Var(&o.LatencyBudget, "latency-budget-us", 0, "highest "+MetricLatency+" the challenger may have; 0: unchecked")
}
