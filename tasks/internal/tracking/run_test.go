package tracking

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

func TestRunTags(t *testing.T) {
	rt := RunTags{
		Kind: Forecaster, Tables: map[string]int64{"traffic_hourly": 4}, Source: "images/forecast@sha256:abc",
		GitCommit: "deadbeef", User: "airflow", Note: "nightly", Extra: map[string]string{"airflow.dag_id": "telco_forecast", "mlflow.user": "overridden"},
	}
	got, err := rt.tags("forecast-2022-W13")
	if err != nil {
		t.Fatal(err)
	}
	want := []mlflowclient.Tag{
		{Key: "airflow.dag_id", Value: "telco_forecast"},
		{Key: "mlflow.note.content", Value: "nightly"},
		{Key: "mlflow.runName", Value: "forecast-2022-W13"},
		{Key: "mlflow.source.git.commit", Value: "deadbeef"},
		{Key: "mlflow.source.name", Value: "images/forecast@sha256:abc"},
		{Key: "mlflow.source.type", Value: "JOB"},
		{Key: "mlflow.user", Value: "airflow"},
		{Key: "telcotraffic.kind", Value: "forecaster"},
		{Key: "telcotraffic.table.traffic_hourly.version", Value: "4"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// Defaults come from the binary.
	got, err = RunTags{}.tags("r")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, tag := range got {
		m[tag.Key] = tag.Value
	}
	if m["mlflow.source.name"] == "" || m["mlflow.source.type"] != "JOB" {
		t.Errorf("default tags = %v, want the binary as source and type JOB", m)
	}
	if _, ok := m[TagKind]; ok {
		t.Errorf("an empty kind was tagged: %v", m)
	}

	for _, bad := range []RunTags{{Kind: "regressor"}, {Tables: map[string]int64{"a b": 1}}, {Tables: map[string]int64{"t": -1}}} {
		if _, err := bad.tags("r"); err == nil {
			t.Errorf("tags of %+v: no error", bad)
		}
	}
}

// mlflowName is MLflow's rule for metric and param names
// (mlflow/utils/validation.py) plus its path checks.
var mlflowName = regexp.MustCompile(`^[/\w.\- :]*$`)

func validName(k string) bool {
	return k != "" && mlflowName.MatchString(k) && !strings.HasPrefix(k, "/") && !strings.Contains(k, "..")
}

func TestMetricKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"macro_f1", "macro_f1"},
		{"class_recall/google-www", "class_recall/google-www"},
		{"class_recall/ünï?code", "class_recall/_n__code"}, // one _ per character
		{"a..b", "a._b"},
		{"a...b", "a._.b"},
		{"/abs", "_abs"},
		{"", "_"},
	}
	for _, tt := range tests {
		if got := MetricKey(tt.in); got != tt.want {
			t.Errorf("MetricKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzMetricKey(f *testing.F) {
	for _, s := range []string{"macro_f1", "class_recall/x", "..", "/", "ü", "a....b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := MetricKey(s)
		if !validName(k) {
			t.Fatalf("MetricKey(%q) = %q, not a valid MLflow name", s, k)
		}
		if MetricKey(k) != k {
			t.Fatalf("MetricKey not idempotent on %q: %q", k, MetricKey(k))
		}
		if validName(s) && k != s {
			t.Fatalf("MetricKey changed the valid name %q to %q", s, k)
		}
	})
}

func TestURLs(t *testing.T) {
	const base = "http://127.0.0.1:5000/"
	for got, want := range map[string]string{
		ExperimentURL(base, "3"):          "http://127.0.0.1:5000/#/experiments/3",
		ChartsURL(base, "3"):              "http://127.0.0.1:5000/#/experiments/3/runs?compareRunsMode=CHART",
		RunURL(base, "3", "ab"):           "http://127.0.0.1:5000/#/experiments/3/runs/ab",
		ModelURL(base, "svc clf"):         "http://127.0.0.1:5000/#/models/svc%20clf",
		ModelVersionURL(base, "svc", "2"): "http://127.0.0.1:5000/#/models/svc/versions/2",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
