package pipelineresult

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The result's table keys are <table>_version, _rows and _files, as the
// DAGs and the demo read them.
func TestTableKeys(t *testing.T) {
	var r Result
	for i, name := range []string{"flows", "rejects", "traffic_hourly", "flow_features"} {
		if !r.SetTable(name, Table{Version: int64(i + 1), Rows: 10, Files: 2}) {
			t.Fatalf("SetTable(%s) = false", name)
		}
		if got, ok := r.Table(name); !ok || got != (Table{Version: int64(i + 1), Rows: 10, Files: 2}) {
			t.Errorf("Table(%s) = %+v, %v", name, got, ok)
		}
	}
	if r.SetTable("forecasts", Table{}) {
		t.Error("SetTable(forecasts) = true; the pipeline does not write it")
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"job": "", "lake": "", "seconds": 0.0,
		"flows_version": 1.0, "flows_rows": 10.0, "flows_files": 2.0,
		"rejects_version": 2.0, "rejects_rows": 10.0, "rejects_files": 2.0,
		"traffic_hourly_version": 3.0, "traffic_hourly_rows": 10.0, "traffic_hourly_files": 2.0,
		"flow_features_version": 4.0, "flow_features_rows": 10.0, "flow_features_files": 2.0}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("JSON keys (-want +got):\n%s", diff)
	}
	if _, ok := (&Result{}).Table("flows"); ok {
		t.Error("an empty result holds flows")
	}
}
