package mlflowclient

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func bundleMLmodel() *MLmodel {
	return &MLmodel{
		ArtifactPath:   "model",
		RunID:          "0123456789abcdef0123456789abcdef",
		ModelUUID:      "fedcba9876543210fedcba9876543210",
		UTCTimeCreated: time.Date(2025, 1, 12, 5, 17, 31, 634689000, time.UTC),
		MLflowVersion:  "3.7.0",
		ModelSizeBytes: 12345,
		XGBoost:        &XGBoostFlavor{XGBVersion: "1.7.4", Data: "model.ubj"},
		PyFunc:         true,
		PythonVersion:  "3.11.7",
		Flavors: []Flavor{{Name: TelcoTrafficFlavor, Fields: []Field{
			{"format", "tt-bundle-v1"},
			{"task", "classification"},
			{"members", []string{"xgboost", "seqnet"}},
			{"classes", []string{"video", "voip", "web"}},
			{"seqnet", []Field{{"data", "seqnet/weights.bin"}, {"window", 32}}},
			{"go_version", "go1.26"},
		}}},
		Metadata: []Field{{"delta.flows.version", int64(12)}, {"git.commit", "abc123"}, {"note", "quotes \" and: colons # hash"}},
	}
}

func TestMLmodelGolden(t *testing.T) {
	m := bundleMLmodel()
	yamlDoc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	jsonDoc, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(jsonDoc) {
		t.Fatalf("JSON form is not JSON: %s", jsonDoc)
	}
	for name, got := range map[string][]byte{"MLmodel.golden": yamlDoc, "MLmodel.json.golden": jsonDoc} {
		golden := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", golden, diff)
		}
	}
	// The JSON form carries what runs/log-model requires.
	var doc map[string]any
	if err := json.Unmarshal(jsonDoc, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"artifact_path", "flavors", "utc_time_created", "run_id"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON form lacks %q", k)
		}
	}
	xgb := doc["flavors"].(map[string]any)["xgboost"].(map[string]any)
	if diff := cmp.Diff(map[string]any{
		"code": nil, "data": "model.ubj", "model_class": "xgboost.core.Booster", "model_format": "ubj", "xgb_version": "1.7.4",
	}, xgb); diff != "" {
		t.Errorf("xgboost flavor (-want +got):\n%s", diff)
	}
}

func TestMLmodelErrors(t *testing.T) {
	tests := []struct {
		name string
		m    MLmodel
		want string
	}{
		{"no flavors", MLmodel{}, "no flavors"},
		{"xgboost without data", MLmodel{XGBoost: &XGBoostFlavor{XGBVersion: "1.7.4"}}, "needs Data"},
		{"unknown format", MLmodel{XGBoost: &XGBoostFlavor{XGBVersion: "1.7.4", Data: "model.bin"}}, "set ModelFormat"},
		{"pyfunc alone", MLmodel{PyFunc: true, Flavors: []Flavor{{Name: "x"}}}, "PyFunc needs"},
		{"reserved name", MLmodel{Flavors: []Flavor{{Name: "xgboost"}}}, "reserved"},
		{"duplicate", MLmodel{Flavors: []Flavor{{Name: "a"}, {Name: "a"}}}, "twice"},
		{"bad value", MLmodel{Flavors: []Flavor{{Name: "a", Fields: []Field{{"k", struct{}{}}}}}}, "unsupported value type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.Marshal()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Marshal err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMLmodelExplicitFormat(t *testing.T) {
	m := MLmodel{XGBoost: &XGBoostFlavor{XGBVersion: "2.1.0", Data: "model.bin", ModelFormat: "deprecated", ModelClass: "xgboost.sklearn.XGBClassifier"},
		UTCTimeCreated: time.Unix(0, 0)}
	got, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `flavors:
  xgboost:
    code: null
    data: "model.bin"
    model_class: "xgboost.sklearn.XGBClassifier"
    model_format: "deprecated"
    xgb_version: "2.1.0"
utc_time_created: "1970-01-01 00:00:00.000000"
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("MLmodel (-want +got):\n%s", diff)
	}
}
