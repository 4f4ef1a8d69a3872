package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
)

// ExperimentsService handles experiments.
type ExperimentsService service

// Experiment is an MLflow experiment.
type Experiment struct {
	ID               string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"` // e.g. mlflow-artifacts:/1
	LifecycleStage   string `json:"lifecycle_stage"`   // "active" or "deleted"
	CreationTime     int64  `json:"creation_time"`     // ms since epoch
	LastUpdateTime   int64  `json:"last_update_time"`  // ms since epoch
	Tags             []Tag  `json:"tags,omitempty"`
}

// UnmarshalJSON accepts int64 fields as numbers or strings.
func (e *Experiment) UnmarshalJSON(b []byte) error {
	type plain Experiment
	w := struct {
		*plain
		CreationTime   jsonInt64 `json:"creation_time"`
		LastUpdateTime jsonInt64 `json:"last_update_time"`
	}{plain: (*plain)(e)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	e.CreationTime, e.LastUpdateTime = int64(w.CreationTime), int64(w.LastUpdateTime)
	return nil
}

// ViewType selects active, deleted or all entities in searches.
type ViewType string

// View types.
const (
	ActiveOnly  ViewType = "ACTIVE_ONLY"
	DeletedOnly ViewType = "DELETED_ONLY"
	AllViews    ViewType = "ALL"
)

// ExperimentCreateOptions are the optional fields of Create.
type ExperimentCreateOptions struct {
	// ArtifactLocation overrides the server's default (leave empty to use
	// the proxied mlflow-artifacts: store).
	ArtifactLocation string
	Tags             []Tag
}

// Create creates an experiment and returns its ID. An existing name gives
// an error matching [ErrAlreadyExists].
//
// POST /api/2.0/mlflow/experiments/create
func (s *ExperimentsService) Create(ctx context.Context, name string, opts *ExperimentCreateOptions) (string, error) {
	body := struct {
		Name             string `json:"name"`
		ArtifactLocation string `json:"artifact_location,omitempty"`
		Tags             []Tag  `json:"tags,omitempty"`
	}{Name: name}
	if opts != nil {
		body.ArtifactLocation, body.Tags = opts.ArtifactLocation, opts.Tags
	}
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	err := s.client.do(ctx, request{method: "POST", route: api("experiments/create"), body: body}, &out)
	return out.ExperimentID, err
}

// Get returns an experiment by ID.
//
// GET /api/2.0/mlflow/experiments/get
func (s *ExperimentsService) Get(ctx context.Context, id string) (*Experiment, error) {
	var out struct {
		Experiment *Experiment `json:"experiment"`
	}
	err := s.client.do(ctx, request{method: "GET", route: api("experiments/get"),
		query: url.Values{"experiment_id": {id}}, idempotent: true}, &out)
	return out.Experiment, nonNil(err, out.Experiment, "experiment")
}

// GetByName returns an experiment by name (the active one if an active and
// a deleted experiment share it).
//
// GET /api/2.0/mlflow/experiments/get-by-name
func (s *ExperimentsService) GetByName(ctx context.Context, name string) (*Experiment, error) {
	var out struct {
		Experiment *Experiment `json:"experiment"`
	}
	err := s.client.do(ctx, request{method: "GET", route: api("experiments/get-by-name"),
		query: url.Values{"experiment_name": {name}}, idempotent: true}, &out)
	return out.Experiment, nonNil(err, out.Experiment, "experiment")
}

// GetOrCreate returns the active experiment called name, creating it if
// needed. Safe against a concurrent creator: a lost race is resolved by
// reading the winner's experiment. A deleted experiment of that name blocks
// the name (as in Python's mlflow.set_experiment): that is an error.
func (s *ExperimentsService) GetOrCreate(ctx context.Context, name string, opts *ExperimentCreateOptions) (*Experiment, error) {
	exp, err := s.GetByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		_, err = s.Create(ctx, name, opts)
		if err != nil && !errors.Is(err, ErrAlreadyExists) {
			return nil, err
		}
		exp, err = s.GetByName(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	if exp.LifecycleStage == "deleted" {
		return nil, fmt.Errorf("mlflowclient: experiment %q (id %s) is deleted; restore or purge it", name, exp.ID)
	}
	return exp, nil
}

// Delete marks an experiment deleted (it keeps its name until purged).
//
// POST /api/2.0/mlflow/experiments/delete
func (s *ExperimentsService) Delete(ctx context.Context, id string) error {
	body := map[string]string{"experiment_id": id}
	return s.client.do(ctx, request{method: "POST", route: api("experiments/delete"), body: body, idempotent: true}, nil)
}

// SetTag sets (or overwrites) a tag on an experiment.
//
// POST /api/2.0/mlflow/experiments/set-experiment-tag
func (s *ExperimentsService) SetTag(ctx context.Context, id, key, value string) error {
	body := map[string]string{"experiment_id": id, "key": key, "value": value}
	return s.client.do(ctx, request{method: "POST", route: api("experiments/set-experiment-tag"), body: body, idempotent: true}, nil)
}

// ExperimentSearchOptions select and order experiments.
type ExperimentSearchOptions struct {
	Filter   string   // e.g. "name LIKE 'svc-%'"
	OrderBy  []string // e.g. "last_update_time DESC"
	ViewType ViewType // default ActiveOnly
	PageSize int      // results per request; default 1000
}

// Search iterates over the experiments matching opts, fetching pages as
// needed. Iteration stops at the first error, which is yielded.
//
// POST /api/2.0/mlflow/experiments/search
func (s *ExperimentsService) Search(ctx context.Context, opts *ExperimentSearchOptions) iter.Seq2[*Experiment, error] {
	if opts == nil {
		opts = &ExperimentSearchOptions{}
	}
	return paginate(ctx, func(ctx context.Context, token string) ([]*Experiment, string, error) {
		body := struct {
			MaxResults int      `json:"max_results"`
			PageToken  string   `json:"page_token,omitempty"`
			Filter     string   `json:"filter,omitempty"`
			OrderBy    []string `json:"order_by,omitempty"`
			ViewType   ViewType `json:"view_type,omitempty"`
		}{pageSize(opts.PageSize, 1000), token, opts.Filter, opts.OrderBy, opts.ViewType}
		var out struct {
			Experiments   []*Experiment `json:"experiments"`
			NextPageToken string        `json:"next_page_token"`
		}
		err := s.client.do(ctx, request{method: "POST", route: api("experiments/search"), body: body, idempotent: true}, &out)
		return out.Experiments, out.NextPageToken, err
	})
}

// nonNil turns a 2xx answer without the expected object into an error, so
// callers never get (nil, nil).
func nonNil[T any](err error, v *T, what string) error {
	if err == nil && v == nil {
		return fmt.Errorf("mlflowclient: answer has no %s", what)
	}
	return err
}
