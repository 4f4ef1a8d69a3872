// Command driftcheck compares one day of flow_features (and the champion's
// flow_predictions of it, when the score task wrote them) with the reference
// profile of the champion model's training window: per-feature and per-app
// divergences, ADWIN over daily streams (state carried in drift_state),
// emerging services; it writes drift_metrics and prints the decision
// (drift.Result). It exits 99 when there is no champion or no data for the
// day, or the day was already checked (unless --force).
package main

import (
	"os"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

func main() {
	cfg := config{th: defaultThresholds(), getenv: os.Getenv}
	ctx := taskio.Parse(&cfg.xcom, &cfg)
	cfg.store = storage.Options{S3: storage.FromEnv(os.Getenv)}
	taskio.Exit("driftcheck", run(ctx, cfg, os.Stdout, os.Stderr))
}
