package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// Evaluation is how a model scored on a held-out time window after its
// training data.
type Evaluation struct {
	// Window names the scored time window, e.g. "2022-W13" or
	// "2022-W13..2022-W14". Models are compared only on equal windows, so
	// the evaluators must spell a window the same way.
	Window string
	// Scores are the headline metrics: macro_f1, accuracy, mase, …
	Scores map[string]float64
	// ClassRecall is the recall of each class with support in the window
	// (classifiers); the promotion guard rail checks it for collapsed classes.
	ClassRecall map[string]float64
}

// maxWindow bounds a window name (it is stored as a tag).
const maxWindow = 250

func (ev Evaluation) validate() error {
	if strings.TrimSpace(ev.Window) == "" {
		return errors.New("tracking: evaluation: window is empty")
	}
	if len(ev.Window) > maxWindow {
		return fmt.Errorf("tracking: evaluation: window name of %d bytes, at most %d", len(ev.Window), maxWindow)
	}
	if len(ev.Scores) == 0 {
		return errors.New("tracking: evaluation: no scores")
	}
	return nil
}

// LogEvaluation records an evaluation on the run: the window as tag
// telcotraffic.eval.window, the scores as metrics at step 0 and each class's
// recall as metric class_recall/<class>. A run holds one evaluation; a later
// one of the same model goes to a new run (see [AttachEvaluation]).
func (r *Run) LogEvaluation(ctx context.Context, ev Evaluation) error {
	if err := ev.validate(); err != nil {
		return err
	}
	if err := r.SetTags(ctx, map[string]string{TagEvalWindow: ev.Window}); err != nil {
		return err
	}
	pts := make([]Point, 0, len(ev.Scores)+len(ev.ClassRecall))
	for _, k := range slices.Sorted(maps.Keys(ev.Scores)) {
		pts = append(pts, Point{Key: k, Value: ev.Scores[k]})
	}
	for _, c := range slices.Sorted(maps.Keys(ev.ClassRecall)) {
		pts = append(pts, Point{Key: MetricKey(MetricClassRecallPrefix + c), Value: ev.ClassRecall[c]})
	}
	return r.LogPoints(ctx, pts)
}

// EvaluationOf is a model version's evaluation and where it was read.
type EvaluationOf struct {
	Evaluation
	Version *mlflowclient.ModelVersion
	RunID   string // the run holding the evaluation
	Kind    Kind
}

// LoadEvaluation reads the evaluation of a model version: from the run named
// by its tag telcotraffic.eval.run_id if set, else from the run that
// produced it. Version tags telcotraffic.eval.window and <metric> (written
// by [Register] and [AttachEvaluation]) take precedence over the run's.
func LoadEvaluation(ctx context.Context, c *mlflowclient.Client, mv *mlflowclient.ModelVersion) (*EvaluationOf, error) {
	out := &EvaluationOf{Version: mv, Evaluation: Evaluation{Scores: map[string]float64{}, ClassRecall: map[string]float64{}}}
	out.RunID = mv.RunID
	if id, ok := mv.Tag(TagEvalRunID); ok && id != "" {
		out.RunID = id
	}
	if out.RunID != "" {
		run, err := c.Runs.Get(ctx, out.RunID)
		if err != nil {
			return nil, fmt.Errorf("tracking: evaluation of %s version %s: run %s: %w", mv.Name, mv.Version, out.RunID, err)
		}
		out.Window, _ = run.Data.Tag(TagEvalWindow)
		if k, ok := run.Data.Tag(TagKind); ok {
			out.Kind = Kind(k)
		}
		for _, m := range run.Data.Metrics {
			if c, ok := strings.CutPrefix(m.Key, MetricClassRecallPrefix); ok {
				out.ClassRecall[c] = m.Value
			} else {
				out.Scores[m.Key] = m.Value
			}
		}
	}
	if w, ok := mv.Tag(TagEvalWindow); ok && w != "" {
		out.Window = w
	}
	if k, ok := mv.Tag(TagKind); ok && k != "" {
		out.Kind = Kind(k)
	}
	for _, t := range mv.Tags {
		if !slices.Contains(HeadlineMetrics, t.Key) {
			continue
		}
		v, err := strconv.ParseFloat(t.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("tracking: %s version %s: tag %s=%q is not a number", mv.Name, mv.Version, t.Key, t.Value)
		}
		out.Scores[t.Key] = v
	}
	return out, nil
}

// AttachEvaluation makes runID's evaluation the current evaluation of a
// model version, e.g. after the champion was scored again on a newer window
// so that a challenger can be compared with it: it sets the version's tags
// telcotraffic.eval.run_id, telcotraffic.eval.window and the headline scores,
// and removes headline score tags the new evaluation does not have.
func AttachEvaluation(ctx context.Context, c *mlflowclient.Client, name, version, runID string) error {
	run, err := c.Runs.Get(ctx, runID)
	if err != nil {
		return fmt.Errorf("tracking: attach evaluation run %s: %w", runID, err)
	}
	window, ok := run.Data.Tag(TagEvalWindow)
	if !ok || window == "" {
		return fmt.Errorf("tracking: attach evaluation: run %s has no %s tag (log it with LogEvaluation)", runID, TagEvalWindow)
	}
	mv, err := c.ModelVersions.Get(ctx, name, version)
	if err != nil {
		return fmt.Errorf("tracking: attach evaluation to %s version %s: %w", name, version, err)
	}
	tags := map[string]string{TagEvalRunID: runID, TagEvalWindow: window}
	maps.Copy(tags, scoreTags(run.Data, nil))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := c.ModelVersions.SetTag(ctx, name, version, k, tags[k]); err != nil {
			return fmt.Errorf("tracking: attach evaluation to %s version %s: %w", name, version, err)
		}
	}
	// Scores of the old window that the new evaluation lacks must not
	// pass for scores of the new one.
	for _, k := range HeadlineMetrics {
		if _, stale := mv.Tag(k); stale && tags[k] == "" {
			if err := c.ModelVersions.DeleteTag(ctx, name, version, k); err != nil {
				return fmt.Errorf("tracking: attach evaluation to %s version %s: %w", name, version, err)
			}
		}
	}
	return nil
}

// scoreTags returns the headline metrics (and extra keys) of a run as tag
// values.
func scoreTags(d mlflowclient.RunData, extra []string) map[string]string {
	out := map[string]string{}
	for _, k := range append(slices.Clone(HeadlineMetrics), extra...) {
		if v, ok := d.Metric(k); ok {
			out[k] = formatScore(v)
		}
	}
	return out
}

// formatScore writes a score with enough digits to compare exactly.
func formatScore(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ReportEvaluation reads the evaluation of one feature set ("sni",
// "no-sni") from the classifier's report.json (written by evaluate): the
// first test week as the window, the summary's headline scores, and the
// per-class recall of that feature set's first test week (of the only
// variant when there is one).
func ReportEvaluation(reportJSON []byte, featureSet string) (Evaluation, error) {
	var rep struct {
		Summary struct {
			TestWeek    string   `json:"test_week"`
			Accuracy    *float64 `json:"accuracy"`
			MacroF1     *float64 `json:"macro_f1"`
			MacroRecall *float64 `json:"macro_recall"`
			MacroF1No   *float64 `json:"macro_f1_no_sni"`
			UnknownTPR  *float64 `json:"unknown_tpr_at_5fpr"`
		} `json:"summary"`
		Variants []struct {
			FeatureSet string `json:"feature_set"`
			First      struct {
				PerClass []struct {
					Class   string  `json:"class"`
					Recall  float64 `json:"recall"`
					Support int64   `json:"support"`
				} `json:"per_class"`
			} `json:"first_week"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(reportJSON, &rep); err != nil {
		return Evaluation{}, fmt.Errorf("tracking: evaluation report: %w", err)
	}
	ev := Evaluation{Window: rep.Summary.TestWeek, Scores: map[string]float64{}, ClassRecall: map[string]float64{}}
	for k, v := range map[string]*float64{"accuracy": rep.Summary.Accuracy, "macro_f1": rep.Summary.MacroF1,
		"macro_recall": rep.Summary.MacroRecall, "macro_f1_no_sni": rep.Summary.MacroF1No, "unknown_tpr_at_5fpr": rep.Summary.UnknownTPR} {
		if v != nil {
			ev.Scores[k] = *v
		}
	}
	for _, v := range rep.Variants {
		if v.FeatureSet != featureSet && len(rep.Variants) > 1 {
			continue
		}
		for _, c := range v.First.PerClass {
			if c.Support > 0 {
				ev.ClassRecall[c.Class] = c.Recall
			}
		}
	}
	return ev, nil
}
