package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/url"
	"strconv"
	"strings"
)

// RegisteredModelsService handles registered models, their tags and aliases.
type RegisteredModelsService service

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Name                 string         `json:"name"`
	CreationTimestamp    int64          `json:"creation_timestamp"`     // ms since epoch
	LastUpdatedTimestamp int64          `json:"last_updated_timestamp"` // ms since epoch
	Description          string         `json:"description,omitempty"`
	LatestVersions       []ModelVersion `json:"latest_versions,omitempty"` // latest per (deprecated) stage
	Tags                 []Tag          `json:"tags,omitempty"`
	Aliases              []Alias        `json:"aliases,omitempty"`
}

// UnmarshalJSON accepts int64 fields as numbers or strings.
func (m *RegisteredModel) UnmarshalJSON(b []byte) error {
	type plain RegisteredModel
	w := struct {
		*plain
		CreationTimestamp    jsonInt64 `json:"creation_timestamp"`
		LastUpdatedTimestamp jsonInt64 `json:"last_updated_timestamp"`
	}{plain: (*plain)(m)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	m.CreationTimestamp, m.LastUpdatedTimestamp = int64(w.CreationTimestamp), int64(w.LastUpdatedTimestamp)
	return nil
}

// AliasVersion returns the version an alias points to.
func (m *RegisteredModel) AliasVersion(alias string) (string, bool) {
	for _, a := range m.Aliases {
		if a.Alias == alias {
			return a.Version, true
		}
	}
	return "", false
}

// Alias names one version of a registered model, e.g. champion → "3".
type Alias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// RegisteredModelCreateOptions are the optional fields of Create.
type RegisteredModelCreateOptions struct {
	Description string
	Tags        []Tag
}

// Create registers a model name. An existing name gives an error matching
// [ErrAlreadyExists].
//
// POST /api/2.0/mlflow/registered-models/create
func (s *RegisteredModelsService) Create(ctx context.Context, name string, opts *RegisteredModelCreateOptions) (*RegisteredModel, error) {
	body := struct {
		Name        string `json:"name"`
		Tags        []Tag  `json:"tags,omitempty"`
		Description string `json:"description,omitempty"`
	}{Name: name}
	if opts != nil {
		body.Tags, body.Description = opts.Tags, opts.Description
	}
	var out struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	err := s.client.do(ctx, request{method: "POST", route: api("registered-models/create"), body: body}, &out)
	return out.RegisteredModel, nonNil(err, out.RegisteredModel, "registered_model")
}

// Get returns a registered model with its aliases.
//
// GET /api/2.0/mlflow/registered-models/get
func (s *RegisteredModelsService) Get(ctx context.Context, name string) (*RegisteredModel, error) {
	var out struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	err := s.client.do(ctx, request{method: "GET", route: api("registered-models/get"),
		query: url.Values{"name": {name}}, idempotent: true}, &out)
	return out.RegisteredModel, nonNil(err, out.RegisteredModel, "registered_model")
}

// GetOrCreate returns the registered model called name, creating it (with
// opts) if needed; a concurrent creator is tolerated.
func (s *RegisteredModelsService) GetOrCreate(ctx context.Context, name string, opts *RegisteredModelCreateOptions) (*RegisteredModel, error) {
	m, err := s.Get(ctx, name)
	if !errors.Is(err, ErrNotFound) {
		return m, err
	}
	m, err = s.Create(ctx, name, opts)
	if errors.Is(err, ErrAlreadyExists) {
		return s.Get(ctx, name)
	}
	return m, err
}

// Update sets a registered model's description.
//
// PATCH /api/2.0/mlflow/registered-models/update
func (s *RegisteredModelsService) Update(ctx context.Context, name, description string) (*RegisteredModel, error) {
	body := map[string]string{"name": name, "description": description}
	var out struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	err := s.client.do(ctx, request{method: "PATCH", route: api("registered-models/update"), body: body, idempotent: true}, &out)
	return out.RegisteredModel, nonNil(err, out.RegisteredModel, "registered_model")
}

// Delete deletes a registered model and all its versions.
//
// DELETE /api/2.0/mlflow/registered-models/delete
func (s *RegisteredModelsService) Delete(ctx context.Context, name string) error {
	body := map[string]string{"name": name}
	return s.client.do(ctx, request{method: "DELETE", route: api("registered-models/delete"), body: body, idempotent: true}, nil)
}

// SetTag sets (or overwrites) a tag on a registered model.
//
// POST /api/2.0/mlflow/registered-models/set-tag
func (s *RegisteredModelsService) SetTag(ctx context.Context, name, key, value string) error {
	body := map[string]string{"name": name, "key": key, "value": value}
	return s.client.do(ctx, request{method: "POST", route: api("registered-models/set-tag"), body: body, idempotent: true}, nil)
}

// DeleteTag removes a tag from a registered model.
//
// DELETE /api/2.0/mlflow/registered-models/delete-tag
func (s *RegisteredModelsService) DeleteTag(ctx context.Context, name, key string) error {
	body := map[string]string{"name": name, "key": key}
	return s.client.do(ctx, request{method: "DELETE", route: api("registered-models/delete-tag"), body: body, idempotent: true}, nil)
}

// RegisteredModelSearchOptions select and order registered models.
type RegisteredModelSearchOptions struct {
	Filter   string   // e.g. "name LIKE 'svc-%'"
	OrderBy  []string // e.g. "name ASC", "last_updated_timestamp DESC"
	PageSize int      // models per request; default 100 (server maximum 1000)
}

// Search iterates over the registered models matching opts. Iteration stops
// at the first error, which is yielded.
//
// GET /api/2.0/mlflow/registered-models/search
func (s *RegisteredModelsService) Search(ctx context.Context, opts *RegisteredModelSearchOptions) iter.Seq2[*RegisteredModel, error] {
	if opts == nil {
		opts = &RegisteredModelSearchOptions{}
	}
	return paginate(ctx, func(ctx context.Context, token string) ([]*RegisteredModel, string, error) {
		q := searchQuery(opts.Filter, opts.OrderBy, pageSize(opts.PageSize, 100), token)
		var out struct {
			RegisteredModels []*RegisteredModel `json:"registered_models"`
			NextPageToken    string             `json:"next_page_token"`
		}
		err := s.client.do(ctx, request{method: "GET", route: api("registered-models/search"), query: q, idempotent: true}, &out)
		return out.RegisteredModels, out.NextPageToken, err
	})
}

func searchQuery(filter string, orderBy []string, maxResults int, token string) url.Values {
	q := url.Values{"max_results": {strconv.Itoa(maxResults)}}
	if filter != "" {
		q.Set("filter", filter)
	}
	if len(orderBy) > 0 {
		q["order_by"] = orderBy
	}
	if token != "" {
		q.Set("page_token", token)
	}
	return q
}

// SetAlias points alias at version, moving it if it named another version.
//
// POST /api/2.0/mlflow/registered-models/alias
func (s *RegisteredModelsService) SetAlias(ctx context.Context, name, alias, version string) error {
	body := map[string]string{"name": name, "alias": alias, "version": version}
	return s.client.do(ctx, request{method: "POST", route: api("registered-models/alias"), body: body, idempotent: true}, nil)
}

// DeleteAlias removes an alias; removing a missing alias succeeds.
//
// DELETE /api/2.0/mlflow/registered-models/alias
func (s *RegisteredModelsService) DeleteAlias(ctx context.Context, name, alias string) error {
	body := map[string]string{"name": name, "alias": alias}
	return s.client.do(ctx, request{method: "DELETE", route: api("registered-models/alias"), body: body, idempotent: true}, nil)
}

// GetVersionByAlias returns the version an alias names. A missing alias
// (which MLflow reports as 400 INVALID_PARAMETER_VALUE) or model gives an
// error matching [ErrNotFound].
//
// GET /api/2.0/mlflow/registered-models/alias
func (s *RegisteredModelsService) GetVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	var out struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	err := s.client.do(ctx, request{method: "GET", route: api("registered-models/alias"),
		query: url.Values{"name": {name}, "alias": {alias}}, idempotent: true}, &out)
	var ae *APIError
	if errors.As(err, &ae) && ae.ErrorCode == "INVALID_PARAMETER_VALUE" &&
		strings.Contains(ae.Message, "alias") && strings.Contains(ae.Message, "not found") {
		return nil, asNotFound(err)
	}
	return out.ModelVersion, nonNil(err, out.ModelVersion, "model_version")
}
