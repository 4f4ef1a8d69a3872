package tracking

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// Aliases of the promotion flow.
const (
	AliasChallenger = "challenger"
	AliasChampion   = "champion"
)

// RegisterOptions say which run's bundle becomes a version of which model.
type RegisterOptions struct {
	Name         string // registered model name, e.g. "telco-service-classifier"
	RunID        string
	ArtifactPath string        // bundle directory in the run's artifacts; default "model"
	Alias        string        // alias set on the new version; default "challenger"
	Wait         time.Duration // how long to wait for READY; default 5 minutes
	// Scores are metric keys copied onto the version as tags in addition to
	// HeadlineMetrics.
	Scores      []string
	Description string // of the registered model, when it is created
	// Tags are set on the version besides the ones copied from the run
	// (e.g. reason=drift). Keys under telcotraffic. and mlflow. are
	// reserved.
	Tags map[string]string
}

// Registered is the outcome of Register.
type Registered struct {
	Name    string            `json:"name"`
	Version string            `json:"version"`
	Source  string            `json:"source"`
	RunID   string            `json:"run_id"`
	Alias   string            `json:"alias"`
	Reused  bool              `json:"reused"` // the run's bundle was registered before (a retry)
	Tags    map[string]string `json:"tags"`
}

// Register makes the model bundle of a run a new version of a registered
// model (created if needed), waits until the version is READY, tags it with
// the run's kind, table versions, evaluation window and scores (and
// o.Tags), and points the challenger alias at it.
//
// It is idempotent: when the run's bundle is already a version of the model
// (an Airflow retry), that version is reused.
func Register(ctx context.Context, c *mlflowclient.Client, o RegisterOptions) (*Registered, error) {
	if o.Name == "" || o.RunID == "" {
		return nil, errors.New("tracking: register: model name and run id are required")
	}
	for k := range o.Tags {
		if k == "" || strings.HasPrefix(k, "telcotraffic.") || strings.HasPrefix(k, "mlflow.") {
			return nil, fmt.Errorf("tracking: register: tag key %q: empty, or under the reserved telcotraffic. or mlflow. prefixes", k)
		}
	}
	if o.ArtifactPath == "" {
		o.ArtifactPath = BundleArtifactPath
	}
	o.ArtifactPath = strings.Trim(o.ArtifactPath, "/")
	if o.Alias == "" {
		o.Alias = AliasChallenger
	}
	if o.Wait <= 0 {
		o.Wait = 5 * time.Minute
	}
	run, err := c.Runs.Get(ctx, o.RunID)
	if err != nil {
		return nil, fmt.Errorf("tracking: register: run %s: %w", o.RunID, err)
	}
	if s := run.Info.Status; s == mlflowclient.RunFailed || s == mlflowclient.RunKilled {
		return nil, fmt.Errorf("tracking: register: run %s ended %s; only a finished run's model is registered", o.RunID, s)
	}
	files, err := c.Artifacts.List(ctx, run.Info.ArtifactURI, o.ArtifactPath)
	if err != nil {
		return nil, fmt.Errorf("tracking: register: list %s of run %s: %w", o.ArtifactPath, o.RunID, err)
	}
	if !slices.ContainsFunc(files, func(f mlflowclient.FileInfo) bool {
		return f.Path == o.ArtifactPath+"/"+mlflowclient.MLmodelFileName && !f.IsDir
	}) {
		return nil, fmt.Errorf("tracking: register: run %s has no model at %s/ (no %s file)", o.RunID, o.ArtifactPath, mlflowclient.MLmodelFileName)
	}

	tags := scoreTags(run.Data, o.Scores)
	for _, t := range run.Data.Tags {
		if t.Key == TagKind || t.Key == TagEvalWindow || strings.HasPrefix(t.Key, TagTablePrefix) {
			tags[t.Key] = t.Value
		}
	}
	maps.Copy(tags, o.Tags)
	var modelTags []mlflowclient.Tag
	if k, ok := tags[TagKind]; ok {
		modelTags = append(modelTags, mlflowclient.Tag{Key: TagKind, Value: k})
	}
	if _, err := c.RegisteredModels.GetOrCreate(ctx, o.Name, &mlflowclient.RegisteredModelCreateOptions{
		Description: o.Description, Tags: modelTags}); err != nil {
		return nil, fmt.Errorf("tracking: register: model %s: %w", o.Name, err)
	}

	source := strings.TrimRight(run.Info.ArtifactURI, "/") + "/" + o.ArtifactPath
	mv, err := findVersion(ctx, c, o.Name, o.RunID, source)
	if err != nil {
		return nil, err
	}
	reused := mv != nil
	if !reused {
		mv, err = c.ModelVersions.CreateFromRun(ctx, o.Name, o.RunID, o.ArtifactPath, &mlflowclient.ModelVersionCreateOptions{
			Tags: sortedTags(tags), Description: fmt.Sprintf("run %s (%s)", run.Info.RunName, o.RunID)})
		if err != nil {
			return nil, fmt.Errorf("tracking: register: create version of %s: %w", o.Name, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	if mv, err = c.ModelVersions.WaitReady(wctx, o.Name, mv.Version, 250*time.Millisecond); err != nil {
		return nil, fmt.Errorf("tracking: register: %w", err)
	}
	if reused {
		// The retried attempt may have died before tagging.
		for _, t := range sortedTags(tags) {
			if err := c.ModelVersions.SetTag(ctx, o.Name, mv.Version, t.Key, t.Value); err != nil {
				return nil, fmt.Errorf("tracking: register: tag %s version %s: %w", o.Name, mv.Version, err)
			}
		}
	}
	if err := c.RegisteredModels.SetAlias(ctx, o.Name, o.Alias, mv.Version); err != nil {
		return nil, fmt.Errorf("tracking: register: alias %s: %w", o.Alias, err)
	}
	return &Registered{Name: o.Name, Version: mv.Version, Source: source, RunID: o.RunID, Alias: o.Alias, Reused: reused, Tags: tags}, nil
}

// findVersion returns the version of name made from source by runID, or nil.
func findVersion(ctx context.Context, c *mlflowclient.Client, name, runID, source string) (*mlflowclient.ModelVersion, error) {
	filter := fmt.Sprintf("name = %s and run_id = %s", quote(name), quote(runID))
	var found []*mlflowclient.ModelVersion
	for v, err := range c.ModelVersions.Search(ctx, &mlflowclient.ModelVersionSearchOptions{Filter: filter}) {
		if err != nil {
			return nil, fmt.Errorf("tracking: register: search versions of %s: %w", name, err)
		}
		if v.Source == source && v.Status != mlflowclient.VersionFailedRegistration {
			found = append(found, v)
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	// The oldest, should a race have made two.
	slices.SortFunc(found, func(a, b *mlflowclient.ModelVersion) int { return versionNumber(a.Version) - versionNumber(b.Version) })
	return found[0], nil
}

// quote writes s as a string literal of MLflow's search grammar.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

func versionNumber(v string) int {
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}
