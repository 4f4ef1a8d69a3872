package tracking

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// bundle writes a small bundle directory: xgb/model.json and manifest.json.
func bundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "xgb"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"xgb/model.json": `{"learner":{}}`, "manifest.json": `{"format":"x"}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var spec = ModelSpec{
	Kind: Classifier, Format: "telcotraffic.classifier/1", XGBoostModel: "xgb/model.json", XGBVersion: "1.7.4",
	Members: []string{"xgb", "seqnet"}, Classes: []string{"google-www", "netflix", "whatsapp"},
	Tables:        map[string]int64{"flow_features": 7, "flows": 12},
	Extra:         []mlflowclient.Field{{Key: "reject_threshold", Value: 0.25}},
	PythonVersion: "3.11.7",
}

// TestMLmodelGolden pins the MLmodel file. Run with -update after a
// deliberate change; Python MLflow reading it is checked by TestEndToEnd.
func TestMLmodelGolden(t *testing.T) {
	dir := bundle(t)
	m, err := spec.MLmodel(dir, "0123456789abcdef0123456789abcdef", "model")
	if err != nil {
		t.Fatal(err)
	}
	// Fix what changes per call.
	m.ModelUUID = "00000000000000000000000000000000"
	m.UTCTimeCreated = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, f := range m.Flavors[0].Fields {
		if f.Key == "go_version" {
			m.Flavors[0].Fields[i].Value = "go1.26"
		}
	}
	got, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "MLmodel.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("MLmodel (-golden +got):\n%s", diff)
	}

	// The JSON form carries the same document.
	js, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	flavors := doc["flavors"].(map[string]any)
	wantXGB := map[string]any{"code": nil, "data": "xgb/model.json", "model_class": "xgboost.core.Booster", "model_format": "json", "xgb_version": "1.7.4"}
	if diff := cmp.Diff(wantXGB, flavors["xgboost"]); diff != "" {
		t.Errorf("xgboost flavor (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"loader_module": "mlflow.xgboost", "python_version": "3.11.7"}, flavors["python_function"]); diff != "" {
		t.Errorf("python_function flavor (-want +got):\n%s", diff)
	}
	if doc["model_size_bytes"] != float64(len(`{"learner":{}}`)+len(`{"format":"x"}`)) || doc["run_id"] != "0123456789abcdef0123456789abcdef" || doc["artifact_path"] != "model" {
		t.Errorf("document = %v", doc)
	}
}

func TestWriteMLmodel(t *testing.T) {
	dir := bundle(t)
	if _, err := WriteMLmodel(dir, spec, "", ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "MLmodel"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  xgboost:\n", "    data: \"xgb/model.json\"\n", "    go_version: \"" + runtime.Version() + "\"\n", `    classes: ["google-www","netflix","whatsapp"]` + "\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("MLmodel lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "run_id") || strings.Contains(string(b), "artifact_path") {
		t.Errorf("MLmodel of an unlogged bundle names a run:\n%s", b)
	}
	// A second write (LogBundle rewrites it) does not count the old file.
	m, err := WriteMLmodel(dir, spec, "r", "model")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ModelSizeBytes; got != 28 {
		t.Errorf("model_size_bytes = %v, want 28", got)
	}
}

func TestMLmodelErrors(t *testing.T) {
	dir := bundle(t)
	tests := []struct {
		name string
		edit func(*ModelSpec)
		msg  string
	}{
		{"kind", func(s *ModelSpec) { s.Kind = "regressor" }, "kind"},
		{"format", func(s *ModelSpec) { s.Format = "" }, "format is empty"},
		{"missing tree file", func(s *ModelSpec) { s.XGBoostModel = "xgb/model.ubj" }, "not found"},
		{"outside the bundle", func(s *ModelSpec) { s.XGBoostModel = "../model.json" }, "inside the bundle"},
		{"not a model format", func(s *ModelSpec) { s.XGBoostModel = "manifest.json"; s.XGBVersion = "" }, "XGBVersion"},
		{"reserved extra", func(s *ModelSpec) { s.Extra = []mlflowclient.Field{{Key: "kind", Value: "x"}} }, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec
			tt.edit(&s)
			if _, err := s.MLmodel(dir, "", ""); err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.msg)
			}
		})
	}
	// Without a tree member there is no xgboost or python_function flavor.
	s := spec
	s.XGBoostModel = ""
	m, err := s.MLmodel(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range m.Flavors {
		names = append(names, f.Name)
	}
	if m.XGBoost != nil || m.PyFunc {
		t.Errorf("xgboost flavor %+v, python_function %v; want neither", m.XGBoost, m.PyFunc)
	}
	if diff := cmp.Diff([]string{"telcotraffic"}, names); diff != "" {
		t.Errorf("flavors (-want +got):\n%s", diff)
	}
}
