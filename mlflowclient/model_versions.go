package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"
)

// ModelVersionsService handles versions of registered models.
type ModelVersionsService service

// ModelVersionStatus is the registration state of a model version.
type ModelVersionStatus string

// Registration states.
const (
	VersionPendingRegistration ModelVersionStatus = "PENDING_REGISTRATION"
	VersionFailedRegistration  ModelVersionStatus = "FAILED_REGISTRATION"
	VersionReady               ModelVersionStatus = "READY"
)

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name                 string             `json:"name"`
	Version              string             `json:"version"` // "1", "2", …
	CreationTimestamp    int64              `json:"creation_timestamp"`
	LastUpdatedTimestamp int64              `json:"last_updated_timestamp"`
	UserID               string             `json:"user_id,omitempty"`
	CurrentStage         string             `json:"current_stage,omitempty"` // deprecated stages; use aliases
	Description          string             `json:"description,omitempty"`
	Source               string             `json:"source"` // artifact URI of the model directory
	RunID                string             `json:"run_id,omitempty"`
	RunLink              string             `json:"run_link,omitempty"`
	ModelID              string             `json:"model_id,omitempty"` // MLflow 3 logged model
	Status               ModelVersionStatus `json:"status"`
	StatusMessage        string             `json:"status_message,omitempty"`
	Tags                 []Tag              `json:"tags,omitempty"`
	Aliases              []string           `json:"aliases,omitempty"` // not filled by Search
}

// UnmarshalJSON accepts int64 fields as numbers or strings.
func (v *ModelVersion) UnmarshalJSON(b []byte) error {
	type plain ModelVersion
	w := struct {
		*plain
		CreationTimestamp    jsonInt64 `json:"creation_timestamp"`
		LastUpdatedTimestamp jsonInt64 `json:"last_updated_timestamp"`
	}{plain: (*plain)(v)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v.CreationTimestamp, v.LastUpdatedTimestamp = int64(w.CreationTimestamp), int64(w.LastUpdatedTimestamp)
	return nil
}

// Tag returns the value of tag key.
func (v *ModelVersion) Tag(key string) (string, bool) {
	for _, t := range v.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// ModelVersionCreateOptions are the optional fields of Create.
type ModelVersionCreateOptions struct {
	// RunID links the version to the run that produced it. The server
	// requires it when Source lies in that run's artifacts.
	RunID       string
	RunLink     string
	Description string
	Tags        []Tag
	// ModelID is an MLflow 3 logged model (source "models:/<model_id>").
	ModelID string
}

// Create adds a version to a registered model from the model directory at
// source, an artifact URI such as "mlflow-artifacts:/1/<run>/artifacts/model".
// The version may start PENDING_REGISTRATION; see [ModelVersionsService.WaitReady].
//
// POST /api/2.0/mlflow/model-versions/create
func (s *ModelVersionsService) Create(ctx context.Context, name, source string, opts *ModelVersionCreateOptions) (*ModelVersion, error) {
	if opts == nil {
		opts = &ModelVersionCreateOptions{}
	}
	body := struct {
		Name        string `json:"name"`
		Source      string `json:"source"`
		RunID       string `json:"run_id,omitempty"`
		Tags        []Tag  `json:"tags,omitempty"`
		RunLink     string `json:"run_link,omitempty"`
		Description string `json:"description,omitempty"`
		ModelID     string `json:"model_id,omitempty"`
	}{name, source, opts.RunID, opts.Tags, opts.RunLink, opts.Description, opts.ModelID}
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	err := s.client.do(ctx, request{method: "POST", route: api("model-versions/create"), body: body}, &out)
	return out.ModelVersion, nonNil(err, out.ModelVersion, "model_version")
}

// CreateFromRun registers the model directory artifactPath (e.g. "model")
// of a run as a new version of name, with the run linked. The source is the
// run's artifact URI joined with artifactPath.
//
// GET /api/2.0/mlflow/runs/get, then POST /api/2.0/mlflow/model-versions/create
func (s *ModelVersionsService) CreateFromRun(ctx context.Context, name, runID, artifactPath string, opts *ModelVersionCreateOptions) (*ModelVersion, error) {
	artifactPath = strings.Trim(artifactPath, "/")
	if artifactPath != "" {
		if err := checkRelPath(artifactPath); err != nil {
			return nil, fmt.Errorf("mlflowclient: %w", err)
		}
	}
	uri, err := s.client.Artifacts.RunArtifactURI(ctx, runID)
	if err != nil {
		return nil, err
	}
	o := ModelVersionCreateOptions{}
	if opts != nil {
		o = *opts
	}
	o.RunID = runID
	source := strings.TrimRight(uri, "/")
	if artifactPath != "" {
		source += "/" + artifactPath
	}
	return s.Create(ctx, name, source, &o)
}

// Get returns one version of a registered model.
//
// GET /api/2.0/mlflow/model-versions/get
func (s *ModelVersionsService) Get(ctx context.Context, name, version string) (*ModelVersion, error) {
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	err := s.client.do(ctx, request{method: "GET", route: api("model-versions/get"),
		query: url.Values{"name": {name}, "version": {version}}, idempotent: true}, &out)
	return out.ModelVersion, nonNil(err, out.ModelVersion, "model_version")
}

// WaitReady polls a version every interval (default 1s) until it is READY
// and returns it. FAILED_REGISTRATION is an error; bound the wait with ctx.
//
// GET /api/2.0/mlflow/model-versions/get
func (s *ModelVersionsService) WaitReady(ctx context.Context, name, version string, interval time.Duration) (*ModelVersion, error) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		v, err := s.Get(ctx, name, version)
		if err != nil {
			return nil, err
		}
		switch v.Status {
		case VersionReady:
			return v, nil
		case VersionFailedRegistration:
			return v, fmt.Errorf("mlflowclient: model %s version %s failed registration: %s", name, version, v.StatusMessage)
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("mlflowclient: model %s version %s still %s: %w", name, version, v.Status, ctx.Err())
		case <-t.C:
		}
	}
}

// Update sets a version's description.
//
// PATCH /api/2.0/mlflow/model-versions/update
func (s *ModelVersionsService) Update(ctx context.Context, name, version, description string) (*ModelVersion, error) {
	body := map[string]string{"name": name, "version": version, "description": description}
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	err := s.client.do(ctx, request{method: "PATCH", route: api("model-versions/update"), body: body, idempotent: true}, &out)
	return out.ModelVersion, nonNil(err, out.ModelVersion, "model_version")
}

// SetTag sets (or overwrites) a tag on a version, e.g. validation_status.
//
// POST /api/2.0/mlflow/model-versions/set-tag
func (s *ModelVersionsService) SetTag(ctx context.Context, name, version, key, value string) error {
	body := map[string]string{"name": name, "version": version, "key": key, "value": value}
	return s.client.do(ctx, request{method: "POST", route: api("model-versions/set-tag"), body: body, idempotent: true}, nil)
}

// DeleteTag removes a tag from a version.
//
// DELETE /api/2.0/mlflow/model-versions/delete-tag
func (s *ModelVersionsService) DeleteTag(ctx context.Context, name, version, key string) error {
	body := map[string]string{"name": name, "version": version, "key": key}
	return s.client.do(ctx, request{method: "DELETE", route: api("model-versions/delete-tag"), body: body, idempotent: true}, nil)
}

// DownloadURI returns the artifact URI the version's files are read from.
//
// GET /api/2.0/mlflow/model-versions/get-download-uri
func (s *ModelVersionsService) DownloadURI(ctx context.Context, name, version string) (string, error) {
	var out struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	err := s.client.do(ctx, request{method: "GET", route: api("model-versions/get-download-uri"),
		query: url.Values{"name": {name}, "version": {version}}, idempotent: true}, &out)
	if err == nil && out.ArtifactURI == "" {
		err = errors.New("mlflowclient: answer has no artifact_uri")
	}
	return out.ArtifactURI, err
}

// ModelVersionSearchOptions select and order versions.
type ModelVersionSearchOptions struct {
	Filter   string   // e.g. "name = 'svc-clf'", "run_id = '…'", "tags.validation_status = 'passed'"
	OrderBy  []string // e.g. "version_number DESC"
	PageSize int      // versions per request; default 1000
}

// Search iterates over the versions matching opts. MLflow leaves Aliases
// empty in search results; use Get or GetVersionByAlias for them.
//
// GET /api/2.0/mlflow/model-versions/search
func (s *ModelVersionsService) Search(ctx context.Context, opts *ModelVersionSearchOptions) iter.Seq2[*ModelVersion, error] {
	if opts == nil {
		opts = &ModelVersionSearchOptions{}
	}
	return paginate(ctx, func(ctx context.Context, token string) ([]*ModelVersion, string, error) {
		q := searchQuery(opts.Filter, opts.OrderBy, pageSize(opts.PageSize, 1000), token)
		var out struct {
			ModelVersions []*ModelVersion `json:"model_versions"`
			NextPageToken string          `json:"next_page_token"`
		}
		err := s.client.do(ctx, request{method: "GET", route: api("model-versions/search"), query: q, idempotent: true}, &out)
		return out.ModelVersions, out.NextPageToken, err
	})
}
