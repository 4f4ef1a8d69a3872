package tracking

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// Kind is what a model predicts.
type Kind string

// Model kinds (tag telcotraffic.kind).
const (
	Classifier Kind = "classifier"
	Forecaster Kind = "forecaster"
)

// Tags and metric names of the project's conventions.
const (
	TagKind        = "telcotraffic.kind"
	TagTablePrefix = "telcotraffic.table." // + <table> + TagTableSuffix
	TagTableSuffix = ".version"
	TagEvalWindow  = "telcotraffic.eval.window"
	TagEvalRunID   = "telcotraffic.eval.run_id"
	TagError       = "telcotraffic.error"
	// MetricClassRecallPrefix + class is the recall of one class on the
	// evaluation window.
	MetricClassRecallPrefix = "class_recall/"
	// MetricLatency is the mean prediction latency per row in microseconds,
	// checked against the promotion latency budget.
	MetricLatency = "predict_us_per_row"
)

// HeadlineMetrics are the scores register copies onto a model version as
// tags (those the run has).
var HeadlineMetrics = []string{
	"accuracy", "macro_f1", "macro_f1_no_sni", "macro_recall", "unknown_tpr_at_5fpr",
	"mase", "mae", "peak_capture", "coverage_80", MetricLatency,
}

// Tracker starts runs and works with the registry of one tracking server.
type Tracker struct {
	Client *mlflowclient.Client
	cfg    Config
}

// New returns a Tracker for cfg. opts go to the MLflow client.
func New(cfg Config, opts ...mlflowclient.Option) (*Tracker, error) {
	c, err := cfg.Client(opts...)
	if err != nil {
		return nil, err
	}
	return &Tracker{Client: c, cfg: cfg}, nil
}

// Experiment returns the experiment called name (see
// [Config.ExperimentName]), creating it if needed. It marks the experiment
// as "custom model development" (tag mlflow.experimentKind), which the MLflow
// 3 UI otherwise asks the user to confirm.
//
// The experiment kind is set once, when absent: a user's choice in the UI
// is kept.
func (t *Tracker) Experiment(ctx context.Context, name string) (*mlflowclient.Experiment, error) {
	name = t.cfg.ExperimentName(name)
	exp, err := t.Client.Experiments.GetOrCreate(ctx, name, &mlflowclient.ExperimentCreateOptions{
		Tags: []mlflowclient.Tag{{Key: "mlflow.experimentKind", Value: "custom_model_development"}},
	})
	if err != nil {
		return nil, fmt.Errorf("tracking: experiment %q: %w", name, err)
	}
	return exp, nil
}

// RunTags describe a run. Empty fields take defaults from the running binary.
type RunTags struct {
	Kind Kind // classifier or forecaster (tag telcotraffic.kind); may be empty
	// Tables maps each input Delta table to the version read
	// (tags telcotraffic.table.<name>.version).
	Tables map[string]int64
	// Source is shown as the run's "Source" (mlflow.source.name): the task
	// binary or image. Default: the main package path of this binary.
	Source string
	// SourceType is mlflow.source.type: JOB (default), LOCAL, …
	SourceType string
	// GitCommit is mlflow.source.git.commit. Default: the vcs.revision
	// stamped into this binary by go build, if any.
	GitCommit string
	// User is mlflow.user. Default: the OS user running the process.
	User string
	// Note is the run's description (mlflow.note.content, markdown).
	Note string
	// Extra holds further tags, e.g. airflow.dag_id, airflow.run_id.
	Extra map[string]string
}

var tableNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_\-]*$`)

// tags returns the run's tags in a stable order.
func (rt RunTags) tags(runName string) ([]mlflowclient.Tag, error) {
	if rt.Kind != "" && rt.Kind != Classifier && rt.Kind != Forecaster {
		return nil, fmt.Errorf("tracking: kind %q: want %q or %q", rt.Kind, Classifier, Forecaster)
	}
	bi := buildInfo()
	src, typ, commit, usr := rt.Source, rt.SourceType, rt.GitCommit, rt.User
	if src == "" {
		src = bi.path
	}
	if typ == "" {
		typ = "JOB"
	}
	if commit == "" {
		commit = bi.revision
	}
	if usr == "" {
		if u, err := user.Current(); err == nil {
			usr = u.Username
		}
	}
	m := map[string]string{}
	maps.Copy(m, rt.Extra)
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("mlflow.runName", runName)
	set("mlflow.source.name", src)
	set("mlflow.source.type", typ)
	set("mlflow.source.git.commit", commit)
	set("mlflow.user", usr)
	set("mlflow.note.content", rt.Note)
	set(TagKind, string(rt.Kind))
	for name, v := range rt.Tables {
		if !tableNameRE.MatchString(name) {
			return nil, fmt.Errorf("tracking: table name %q: want letters, digits, _ and -", name)
		}
		if v < 0 {
			return nil, fmt.Errorf("tracking: table %s: negative version %d", name, v)
		}
		m[TableTag(name)] = strconv.FormatInt(v, 10)
	}
	return sortedTags(m), nil
}

// TableTag is the tag naming the version of a Delta table a run read.
func TableTag(table string) string { return TagTablePrefix + table + TagTableSuffix }

// TagOutputPrefix + <table> + TagTableSuffix is the tag naming the version of
// a Delta table a run wrote (an output: register does not copy it onto model
// versions as it does the input tables).
const TagOutputPrefix = "telcotraffic.output."

// OutputTag is the tag naming the version of a Delta table a run wrote.
func OutputTag(table string) string { return TagOutputPrefix + table + TagTableSuffix }

func sortedTags(m map[string]string) []mlflowclient.Tag {
	out := make([]mlflowclient.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, mlflowclient.Tag{Key: k, Value: m[k]})
	}
	return out
}

type binaryInfo struct{ path, revision string }

// buildInfo reads what go build stamped into the binary: the main package
// and, when built inside a git checkout, the commit.
func buildInfo() binaryInfo {
	var out binaryInfo
	if bi, ok := debug.ReadBuildInfo(); ok {
		out.path = bi.Path
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				out.revision = s.Value
			}
		}
	}
	if out.path == "" && len(os.Args) > 0 {
		out.path = filepath.Base(os.Args[0])
	}
	return out
}

// Run is an MLflow run being logged to.
type Run struct {
	client       *mlflowclient.Client
	ID           string
	Name         string
	ExperimentID string
	ArtifactURI  string // mlflow-artifacts:/<exp>/<run>/artifacts
}

// StartRun creates a run called runName in the experiment (see
// [Tracker.Experiment]) with the tags of rt. End it with [Run.End] or
// [Run.EndWith].
func (t *Tracker) StartRun(ctx context.Context, experiment, runName string, rt RunTags) (*Run, error) {
	tags, err := rt.tags(runName)
	if err != nil {
		return nil, err
	}
	exp, err := t.Experiment(ctx, experiment)
	if err != nil {
		return nil, err
	}
	r, err := t.Client.Runs.Create(ctx, exp.ID, &mlflowclient.RunCreateOptions{RunName: runName, Tags: tags})
	if err != nil {
		return nil, fmt.Errorf("tracking: start run %q: %w", runName, err)
	}
	return &Run{client: t.Client, ID: r.Info.RunID, Name: r.Info.RunName, ExperimentID: exp.ID, ArtifactURI: r.Info.ArtifactURI}, nil
}

// OpenRun returns a handle on an existing run, e.g. to log an evaluation to
// the run that trained the model.
func (t *Tracker) OpenRun(ctx context.Context, runID string) (*Run, error) {
	r, err := t.Client.Runs.Get(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("tracking: run %s: %w", runID, err)
	}
	return &Run{client: t.Client, ID: r.Info.RunID, Name: r.Info.RunName, ExperimentID: r.Info.ExperimentID, ArtifactURI: r.Info.ArtifactURI}, nil
}

// maxParamValue is MLflow's limit on a param value.
const maxParamValue = 6000

// LogParams logs params (write-once: logging a key again with another value
// fails).
func (r *Run) LogParams(ctx context.Context, params map[string]string) error {
	b := mlflowclient.Batch{}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		if len(v) > maxParamValue {
			return fmt.Errorf("tracking: param %s: %d bytes, MLflow keeps %d; log it as an artifact", k, len(v), maxParamValue)
		}
		b.Params = append(b.Params, mlflowclient.Param{Key: k, Value: v})
	}
	return r.logBatch(ctx, "params", b)
}

// SetTags sets (or overwrites) run tags.
func (r *Run) SetTags(ctx context.Context, tags map[string]string) error {
	return r.logBatch(ctx, "tags", mlflowclient.Batch{Tags: sortedTags(tags)})
}

// Point is one value of a metric at a step (a boosting round, an epoch).
type Point struct {
	Key   string
	Step  int64
	Value float64
}

// LogMetrics logs values at one step; use step 0 for final scores.
func (r *Run) LogMetrics(ctx context.Context, step int64, values map[string]float64) error {
	pts := make([]Point, 0, len(values))
	for _, k := range slices.Sorted(maps.Keys(values)) {
		pts = append(pts, Point{Key: k, Step: step, Value: values[k]})
	}
	return r.LogPoints(ctx, pts)
}

// LogHistory logs values[i] as metric key at step i: a per-round or
// per-epoch curve, drawn against the step in the UI.
func (r *Run) LogHistory(ctx context.Context, key string, values []float64) error {
	pts := make([]Point, len(values))
	for i, v := range values {
		pts[i] = Point{Key: key, Step: int64(i), Value: v}
	}
	return r.LogPoints(ctx, pts)
}

// LogPoints logs metric points in as few requests as MLflow allows. Keys
// must be valid MLflow metric names (see [MetricKey]). Metrics are
// append-only: points logged twice appear twice in the history.
func (r *Run) LogPoints(ctx context.Context, pts []Point) error {
	now := time.Now().UnixMilli()
	b := mlflowclient.Batch{Metrics: make([]mlflowclient.Metric, len(pts))}
	for i, p := range pts {
		if MetricKey(p.Key) != p.Key {
			return fmt.Errorf("tracking: metric name %q: MLflow allows letters, digits and _ - . / : space (see tracking.MetricKey)", p.Key)
		}
		b.Metrics[i] = mlflowclient.Metric{Key: p.Key, Value: p.Value, Step: p.Step, Timestamp: now}
	}
	return r.logBatch(ctx, "metrics", b)
}

func (r *Run) logBatch(ctx context.Context, what string, b mlflowclient.Batch) error {
	if len(b.Metrics)+len(b.Params)+len(b.Tags) == 0 {
		return nil
	}
	if err := r.client.Runs.LogBatch(ctx, r.ID, b); err != nil {
		return fmt.Errorf("tracking: run %s: log %s: %w", r.ID, what, err)
	}
	return nil
}

var badMetricChar = regexp.MustCompile(`[^A-Za-z0-9_\-. /:]`)

// MetricKey turns s into a valid MLflow metric or param name: characters
// other than letters, digits, _ - . / : and space become _, and the result
// neither starts with "/" nor contains "..".
func MetricKey(s string) string {
	k := badMetricChar.ReplaceAllString(s, "_")
	for strings.Contains(k, "..") {
		k = strings.ReplaceAll(k, "..", "._")
	}
	if strings.HasPrefix(k, "/") {
		k = "_" + k[1:]
	}
	if k == "" {
		k = "_"
	}
	return k
}

// LogArtifacts uploads every file below dir to path (e.g. "evaluation")
// in the run's artifacts and returns how many files it sent.
func (r *Run) LogArtifacts(ctx context.Context, dir, path string) (int, error) {
	n, err := r.client.Artifacts.UploadDir(ctx, r.ArtifactURI, path, dir)
	if err != nil {
		return n, fmt.Errorf("tracking: run %s: log artifacts %s: %w", r.ID, dir, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("tracking: run %s: log artifacts: no files below %s", r.ID, dir)
	}
	return n, nil
}

// LogFile uploads one local file as the artifact at path.
func (r *Run) LogFile(ctx context.Context, file, path string) error {
	if err := r.client.Artifacts.UploadFile(ctx, r.ArtifactURI, path, file); err != nil {
		return fmt.Errorf("tracking: run %s: log file %s: %w", r.ID, file, err)
	}
	return nil
}

// End marks the run FINISHED, FAILED or KILLED.
func (r *Run) End(ctx context.Context, status mlflowclient.RunStatus) error {
	if _, err := r.client.Runs.SetTerminated(ctx, r.ID, status); err != nil {
		return fmt.Errorf("tracking: run %s: end %s: %w", r.ID, status, err)
	}
	return nil
}

// maxErrorTag bounds the failure message kept as a tag.
const maxErrorTag = 4000

// EndWith ends the run according to the task's outcome: FINISHED when err is
// nil, KILLED when it is a cancellation, FAILED otherwise, with the error
// message as tag telcotraffic.error. It returns err, joined with any error
// of its own, so it fits a deferred call:
//
//	defer func() { err = run.EndWith(context.WithoutCancel(ctx), err) }()
func (r *Run) EndWith(ctx context.Context, err error) error {
	status := mlflowclient.RunFinished
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = mlflowclient.RunKilled
	default:
		status = mlflowclient.RunFailed
	}
	var errs []error
	if err != nil {
		msg := err.Error()
		if len(msg) > maxErrorTag {
			msg = msg[:maxErrorTag] + "…"
		}
		errs = append(errs, r.SetTags(ctx, map[string]string{TagError: msg}))
	}
	errs = append(errs, r.End(ctx, status))
	if own := errors.Join(errs...); own != nil {
		return errors.Join(err, own)
	}
	return err
}

// URL returns the run's page in the MLflow UI.
func (r *Run) URL() string { return RunURL(r.client.BaseURL(), r.ExperimentID, r.ID) }
