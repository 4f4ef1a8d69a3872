package mlflowclient

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// RunsService handles runs: creation, status, search and logging.
type RunsService service

// RunStatus is the lifecycle state of a run.
type RunStatus string

// Run states.
const (
	RunRunning   RunStatus = "RUNNING"
	RunScheduled RunStatus = "SCHEDULED"
	RunFinished  RunStatus = "FINISHED"
	RunFailed    RunStatus = "FAILED"
	RunKilled    RunStatus = "KILLED"
)

// Run is a run with its latest metrics, params and tags.
type Run struct {
	Info RunInfo `json:"info"`
	Data RunData `json:"data"`
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string    `json:"run_id"`
	RunName        string    `json:"run_name"`
	ExperimentID   string    `json:"experiment_id"`
	UserID         string    `json:"user_id,omitempty"`
	Status         RunStatus `json:"status"`
	StartTime      int64     `json:"start_time"`         // ms since epoch
	EndTime        int64     `json:"end_time,omitempty"` // ms since epoch; 0 while running
	ArtifactURI    string    `json:"artifact_uri"`       // e.g. mlflow-artifacts:/1/<run>/artifacts
	LifecycleStage string    `json:"lifecycle_stage"`
}

// UnmarshalJSON accepts int64 fields as numbers or strings and falls back to
// the deprecated run_uuid.
func (r *RunInfo) UnmarshalJSON(b []byte) error {
	type plain RunInfo
	w := struct {
		*plain
		RunUUID   string    `json:"run_uuid"`
		StartTime jsonInt64 `json:"start_time"`
		EndTime   jsonInt64 `json:"end_time"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	r.StartTime, r.EndTime = int64(w.StartTime), int64(w.EndTime)
	if r.RunID == "" {
		r.RunID = w.RunUUID
	}
	return nil
}

// RunData holds the latest value of each metric, the params and the tags.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Metric returns the latest value of metric key.
func (d RunData) Metric(key string) (float64, bool) {
	for _, m := range d.Metrics {
		if m.Key == key {
			return m.Value, true
		}
	}
	return 0, false
}

// Param returns the value of param key.
func (d RunData) Param(key string) (string, bool) {
	for _, p := range d.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Tag returns the value of tag key.
func (d RunData) Tag(key string) (string, bool) {
	for _, t := range d.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// RunCreateOptions are the optional fields of Create.
type RunCreateOptions struct {
	RunName   string
	StartTime time.Time // zero means now
	Tags      []Tag     // e.g. mlflow.user, mlflow.source.name, mlflow.source.git.commit
}

// Create starts a run (status RUNNING) in an experiment.
//
// POST /api/2.0/mlflow/runs/create
func (s *RunsService) Create(ctx context.Context, experimentID string, opts *RunCreateOptions) (*Run, error) {
	if opts == nil {
		opts = &RunCreateOptions{}
	}
	start := opts.StartTime
	if start.IsZero() {
		start = time.Now()
	}
	body := struct {
		ExperimentID string    `json:"experiment_id"`
		RunName      string    `json:"run_name,omitempty"`
		StartTime    jsonInt64 `json:"start_time"`
		Tags         []Tag     `json:"tags,omitempty"`
	}{experimentID, opts.RunName, jsonInt64(start.UnixMilli()), opts.Tags}
	var out struct {
		Run *Run `json:"run"`
	}
	err := s.client.do(ctx, request{method: "POST", route: api("runs/create"), body: body}, &out)
	return out.Run, nonNil(err, out.Run, "run")
}

// RunUpdate changes a run's status, end time or name; zero fields are left
// unchanged.
type RunUpdate struct {
	Status  RunStatus
	EndTime time.Time
	RunName string
}

// Update changes a run's status, end time or name and returns its info.
//
// POST /api/2.0/mlflow/runs/update
func (s *RunsService) Update(ctx context.Context, runID string, upd RunUpdate) (*RunInfo, error) {
	body := struct {
		RunID   string     `json:"run_id"`
		Status  RunStatus  `json:"status,omitempty"`
		EndTime *jsonInt64 `json:"end_time,omitempty"`
		RunName string     `json:"run_name,omitempty"`
	}{RunID: runID, Status: upd.Status, RunName: upd.RunName}
	if !upd.EndTime.IsZero() {
		ms := jsonInt64(upd.EndTime.UnixMilli())
		body.EndTime = &ms
	}
	var out struct {
		RunInfo *RunInfo `json:"run_info"`
	}
	err := s.client.do(ctx, request{method: "POST", route: api("runs/update"), body: body, idempotent: true}, &out)
	return out.RunInfo, nonNil(err, out.RunInfo, "run_info")
}

// SetTerminated ends a run with status (FINISHED, FAILED or KILLED) and the
// current time as end time.
//
// POST /api/2.0/mlflow/runs/update
func (s *RunsService) SetTerminated(ctx context.Context, runID string, status RunStatus) (*RunInfo, error) {
	return s.Update(ctx, runID, RunUpdate{Status: status, EndTime: time.Now()})
}

// Get returns a run with the latest value of each metric.
//
// GET /api/2.0/mlflow/runs/get
func (s *RunsService) Get(ctx context.Context, runID string) (*Run, error) {
	var out struct {
		Run *Run `json:"run"`
	}
	err := s.client.do(ctx, request{method: "GET", route: api("runs/get"),
		query: url.Values{"run_id": {runID}}, idempotent: true}, &out)
	return out.Run, nonNil(err, out.Run, "run")
}

// SetTag sets (or overwrites) one run tag.
//
// POST /api/2.0/mlflow/runs/set-tag
func (s *RunsService) SetTag(ctx context.Context, runID, key, value string) error {
	body := map[string]string{"run_id": runID, "key": key, "value": value}
	return s.client.do(ctx, request{method: "POST", route: api("runs/set-tag"), body: body, idempotent: true}, nil)
}

// RunSearchOptions select and order runs.
type RunSearchOptions struct {
	ExperimentIDs []string
	// Filter uses MLflow's grammar: metrics.f1 > 0.8 and params.model = 'xgb'
	// and tags."airflow.dag_id" = 'train' and attributes.status = 'FINISHED'.
	Filter   string
	OrderBy  []string // e.g. "metrics.f1 DESC", "attributes.start_time DESC"
	ViewType ViewType // default ActiveOnly
	PageSize int      // runs per request; default 1000 (server maximum 50000)
}

// Search iterates over the runs matching opts, fetching pages as needed.
// Iteration stops at the first error, which is yielded.
//
// POST /api/2.0/mlflow/runs/search
func (s *RunsService) Search(ctx context.Context, opts *RunSearchOptions) iter.Seq2[*Run, error] {
	if opts == nil {
		opts = &RunSearchOptions{}
	}
	return paginate(ctx, func(ctx context.Context, token string) ([]*Run, string, error) {
		body := struct {
			ExperimentIDs []string `json:"experiment_ids"`
			Filter        string   `json:"filter,omitempty"`
			RunViewType   ViewType `json:"run_view_type,omitempty"`
			MaxResults    int      `json:"max_results"`
			OrderBy       []string `json:"order_by,omitempty"`
			PageToken     string   `json:"page_token,omitempty"`
		}{opts.ExperimentIDs, opts.Filter, opts.ViewType, pageSize(opts.PageSize, 1000), opts.OrderBy, token}
		var out struct {
			Runs          []*Run `json:"runs"`
			NextPageToken string `json:"next_page_token"`
		}
		// A search changes nothing, so it is safe to resend.
		err := s.client.do(ctx, request{method: "POST", route: api("runs/search"), body: body, idempotent: true}, &out)
		return out.Runs, out.NextPageToken, err
	})
}

// LogModel records an MLmodel (as JSON, see [MLmodel.JSON]) in the run's
// model history (tag mlflow.log-model.history), which the UI uses to show
// that the run logged a model. The model files themselves are uploaded as
// artifacts.
//
// POST /api/2.0/mlflow/runs/log-model
func (s *RunsService) LogModel(ctx context.Context, runID string, modelJSON []byte) error {
	body := struct {
		RunID     string `json:"run_id"`
		ModelJSON string `json:"model_json"`
	}{runID, string(modelJSON)}
	// Appends to a history: not idempotent.
	return s.client.do(ctx, request{method: "POST", route: api("runs/log-model"), body: body}, nil)
}
