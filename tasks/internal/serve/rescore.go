package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// Rescorer scores a registered classifier version again on a later
// challenger's evaluation window, from the registry's files and the lake:
// what promote needs once the training window moves (tracking
// PromoteOptions.Rescore).
type Rescorer struct {
	Tracker    *tracking.Tracker
	Lake       string // lake root with flow_features
	Store      storage.Options
	Experiment string // of the evaluation run ("" : the default)
	// MaxRowsPerWeek and Seed must be the challenger's evaluate settings,
	// so that both models are scored on the same sampled flows.
	MaxRowsPerWeek int
	Seed           uint64
	Progress       io.Writer
}

// Rescore implements tracking.PromoteOptions.Rescore: it evaluates the
// champion's bundles on the challenger's window at the flow_features
// version the challenger was evaluated on (its table tag; else the
// latest), logs the report and the evaluation as a new run and returns
// its id.
func (r *Rescorer) Rescore(ctx context.Context, champ *mlflowclient.ModelVersion, chal *tracking.EvaluationOf) (runID string, err error) {
	progress := r.Progress
	if progress == nil {
		progress = io.Discard
	}
	version := int64(-1)
	if v, ok := chal.Version.Tag(tracking.TableTag(classify.FeaturesTable)); ok {
		if version, err = strconv.ParseInt(v, 10, 64); err != nil {
			return "", fmt.Errorf("serve: rescore: challenger tag %s=%q: %w", tracking.TableTag(classify.FeaturesTable), v, err)
		}
	}
	src, err := classify.OpenLakeSource(ctx, r.Lake, version, r.Store)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "telco-rescore-*")
	if err != nil {
		return "", fmt.Errorf("serve: rescore: %w", err)
	}
	defer os.RemoveAll(tmp)
	models, reports := tmp+"/model", tmp+"/evaluation"
	if _, err := tracking.DownloadVersion(ctx, r.Tracker.Client, champ, models); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "serve: scoring champion %s version %s again on the challenger's window %s\n", champ.Name, champ.Version, chal.Window)
	rep, err := classify.Evaluate(ctx, src, classify.EvalConfig{Models: []string{models}, Weeks: []string{chal.Window},
		MaxRowsPerWeek: r.MaxRowsPerWeek, Seed: r.Seed, Out: reports}, progress)
	if errors.Is(err, classify.ErrNoTestWeeks) {
		return "", fmt.Errorf("%w: %s version %s trained or validated on %s (%v)", tracking.ErrStaleWindow, champ.Name, champ.Version, chal.Window, err)
	}
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return "", fmt.Errorf("serve: rescore: %w", err)
	}
	ev, err := tracking.ReportEvaluation(b, string(classify.FeaturesSNI))
	if err != nil {
		return "", err
	}
	run, err := r.Tracker.StartRun(ctx, r.Experiment, fmt.Sprintf("rescore-v%s-%s", champ.Version, chal.Window), tracking.RunTags{
		Kind: tracking.Classifier, Tables: map[string]int64{classify.FeaturesTable: *src.Version().Version},
		Note:  fmt.Sprintf("%s version %s scored again on %s, the window of challenger version %s", champ.Name, champ.Version, chal.Window, chal.Version.Version),
		Extra: map[string]string{"telcotraffic.rescore.model": champ.Name, "telcotraffic.rescore.version": champ.Version},
	})
	if err != nil {
		return "", err
	}
	defer func() { err = run.EndWith(context.WithoutCancel(ctx), err) }()
	if _, err := run.LogArtifacts(ctx, reports, "evaluation"); err != nil {
		return "", err
	}
	if err := run.LogEvaluation(ctx, ev); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "serve: champion version %s on %s: macro_f1 %.4f (run %s)\n", champ.Version, chal.Window, ev.Scores["macro_f1"], run.ID)
	return run.ID, nil
}
