package tracking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// BundleArtifactPath is where a run keeps its model bundle.
const BundleArtifactPath = "model"

// ModelSpec describes a model bundle directory for its MLmodel file.
type ModelSpec struct {
	Kind   Kind   // classifier or forecaster
	Format string // bundle layout, e.g. "telcotraffic.classifier/1"
	// XGBoostModel is the tree member's model file relative to the bundle
	// directory, saved by xgb in XGBoost's JSON (.json) or UBJ (.ubj) format,
	// e.g. "xgb/model.json". It is declared as MLflow's xgboost flavor (and
	// python_function through mlflow.xgboost), so Python MLflow loads it.
	// Empty: the bundle has no member Python can load.
	XGBoostModel string
	XGBVersion   string // version of libxgboost that wrote it: xgb.Version()
	Members      []string
	Classes      []string         // class names in model output order (classifiers)
	Tables       map[string]int64 // Delta table versions the model learned from
	// Extra are further fields of the telcotraffic flavor.
	Extra []mlflowclient.Field
	// PythonVersion, if set, goes into the python_function flavor.
	PythonVersion string
}

// MLmodel returns the MLmodel document for a bundle in dir, logged by runID
// at artifactPath (both may be empty for a bundle not logged yet). The
// tree member is declared as MLflow's xgboost flavor and python_function
// through mlflow.xgboost (mlflowclient.MLmodel, the one MLmodel writer).
func (s ModelSpec) MLmodel(dir, runID, artifactPath string) (*mlflowclient.MLmodel, error) {
	if s.Kind != Classifier && s.Kind != Forecaster {
		return nil, fmt.Errorf("tracking: MLmodel: kind %q: want %q or %q", s.Kind, Classifier, Forecaster)
	}
	if s.Format == "" {
		return nil, errors.New("tracking: MLmodel: bundle format is empty")
	}
	size, err := dirSize(dir)
	if err != nil {
		return nil, err
	}
	m := &mlflowclient.MLmodel{
		ArtifactPath:   artifactPath,
		RunID:          runID,
		ModelUUID:      newUUID(),
		UTCTimeCreated: time.Now(),
		ModelSizeBytes: size,
	}
	fields := []mlflowclient.Field{
		{Key: "format", Value: s.Format},
		{Key: "go_version", Value: runtime.Version()},
		{Key: "kind", Value: string(s.Kind)},
	}
	if s.XGBoostModel != "" {
		rel := path.Clean(filepath.ToSlash(s.XGBoostModel))
		if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("tracking: MLmodel: xgboost model %q must lie inside the bundle", s.XGBoostModel)
		}
		if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil || !st.Mode().IsRegular() {
			return nil, fmt.Errorf("tracking: MLmodel: xgboost model %s not found in bundle %s", rel, dir)
		}
		format := ""
		switch path.Ext(rel) {
		case ".json":
			format = "json"
		case ".ubj":
			format = "ubj"
		default:
			return nil, fmt.Errorf("tracking: MLmodel: xgboost model %s: want a .json or .ubj file", rel)
		}
		if s.XGBVersion == "" {
			return nil, errors.New("tracking: MLmodel: XGBVersion is empty (pass xgb.Version())")
		}
		m.XGBoost = &mlflowclient.XGBoostFlavor{XGBVersion: s.XGBVersion, Data: rel, ModelFormat: format, ModelClass: "xgboost.core.Booster"}
		m.PyFunc, m.PythonVersion = true, s.PythonVersion
		fields = append(fields, mlflowclient.Field{Key: "xgboost_member", Value: rel})
	}
	if len(s.Members) > 0 {
		fields = append(fields, mlflowclient.Field{Key: "members", Value: slices.Clone(s.Members)})
	}
	if len(s.Classes) > 0 {
		fields = append(fields, mlflowclient.Field{Key: "classes", Value: slices.Clone(s.Classes)})
	}
	if len(s.Tables) > 0 {
		var tables []mlflowclient.Field
		for _, name := range slices.Sorted(maps.Keys(s.Tables)) {
			tables = append(tables, mlflowclient.Field{Key: name, Value: s.Tables[name]})
		}
		fields = append(fields, mlflowclient.Field{Key: "tables", Value: tables})
	}
	for _, f := range s.Extra {
		if slices.ContainsFunc(fields, func(g mlflowclient.Field) bool { return g.Key == f.Key }) {
			return nil, fmt.Errorf("tracking: MLmodel: extra field %q is reserved", f.Key)
		}
		fields = append(fields, f)
	}
	slices.SortFunc(fields, func(a, b mlflowclient.Field) int { return strings.Compare(a.Key, b.Key) })
	m.Flavors = []mlflowclient.Flavor{{Name: mlflowclient.TelcoTrafficFlavor, Fields: fields}}
	return m, nil
}

// WriteMLmodel writes dir/MLmodel for the bundle in dir and returns the
// document. runID and artifactPath say where the bundle is logged; they may
// be empty for a bundle kept outside MLflow.
func WriteMLmodel(dir string, spec ModelSpec, runID, artifactPath string) (*mlflowclient.MLmodel, error) {
	m, err := spec.MLmodel(dir, runID, artifactPath)
	if err != nil {
		return nil, err
	}
	doc, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("tracking: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, mlflowclient.MLmodelFileName), doc, 0o644); err != nil {
		return nil, fmt.Errorf("tracking: write MLmodel: %w", err)
	}
	return m, nil
}

// LogBundle logs the model bundle in dir as the run's model: it (re)writes
// dir/MLmodel for this run, uploads the directory to the artifacts under
// model/ and records the model in the run's model history (so the UI shows
// a logged model and offers to register it). It returns the number of files
// uploaded.
func (r *Run) LogBundle(ctx context.Context, dir string, spec ModelSpec) (int, error) {
	m, err := WriteMLmodel(dir, spec, r.ID, BundleArtifactPath)
	if err != nil {
		return 0, err
	}
	n, err := r.LogArtifacts(ctx, dir, BundleArtifactPath)
	if err != nil {
		return n, err
	}
	js, err := m.JSON()
	if err != nil {
		return n, fmt.Errorf("tracking: %w", err)
	}
	if err := r.client.Runs.LogModel(ctx, r.ID, js); err != nil {
		return n, fmt.Errorf("tracking: run %s: log model: %w", r.ID, err)
	}
	return n, nil
}

// dirSize sums the sizes of the regular files below dir, except MLmodel.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || (filepath.Dir(p) == filepath.Clean(dir) && d.Name() == mlflowclient.MLmodelFileName) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("tracking: bundle %s: %w", dir, err)
	}
	return n, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return hex.EncodeToString(b[:])
}
