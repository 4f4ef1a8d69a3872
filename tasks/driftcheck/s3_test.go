package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
)

// TestRunOnS3 runs the daily check as the Airflow task does: the lake on
// S3 (versitygw), the champion's reference from a real MLflow registry;
// drift_metrics and drift_state are written on S3, read back by our reader
// and by delta-rs, and a second day carries the first day's state.
func TestRunOnS3(t *testing.T) {
	ctx := context.Background()
	g, opts := testenv.StartS3(t, "telco")
	const lake = "s3://telco/lake"
	writeDays(t, lake, "2022-06-03", 4, 6000, opts)
	mlflow, tr := trackingtest.Tracker(t, "driftcheck-s3-test")
	const name = "telco-classifier"
	reg := registerChampion(t, tr, name, referenceAt(t, lake, "2022-06-03", "2022-06-04", opts))

	for _, day := range []string{"2022-06-05", "2022-06-06"} {
		var stdout, stderr bytes.Buffer
		cfg := config{lake: lake, day: day, version: -1, name: name, alias: tracking.AliasChampion,
			th: drift.DefaultThresholds(), mlflow: &mlflow, store: opts}
		if err := run(ctx, cfg, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\n%s", day, err, stderr.String())
		}
		var res drift.Result
		if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
			t.Fatalf("%s: stdout %q: %v", day, stdout.String(), err)
		}
		if res.Flows == 0 || res.ModelVersion != reg.Version || res.MetricsVersion < 0 || res.StateVersion < 0 {
			t.Errorf("%s: %+v", day, res)
		}
		if day == "2022-06-06" && !res.Retrain {
			t.Errorf("tinder appearing on 2022-06-06 on S3: no retrain (alerts %+v)", res.Alerts)
		}
	}

	metrics := readTableAt[tablerow.DriftMetric](t, drift.MetricsTable.URI(lake), opts)
	per := map[string]int{}
	for _, m := range metrics {
		per[m.RunDate]++
	}
	states := readTableAt[tablerow.DriftState](t, drift.StateTable.URI(lake), opts)
	if len(per) != 2 || per["2022-06-05"] == 0 || per["2022-06-06"] == 0 || len(states) != 2 {
		t.Fatalf("on S3: drift_metrics rows per day %v, drift_state rows %d: want both days", per, len(states))
	}
	var st drift.State
	for _, s := range states {
		if s.Day == "2022-06-06" {
			if err := json.Unmarshal([]byte(s.State), &st); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(st.Detectors) == 0 {
		t.Errorf("state of 2022-06-06 carries no detectors: %+v", st)
	}

	// delta-rs reads both tables on S3 as we do.
	cmd := exec.Command(testenv.Python(t), "testdata/delta_rows.py",
		drift.MetricsTable.URI(lake), "run_date", drift.StateTable.URI(lake), "day")
	cmd.Env = append(os.Environ(), g.Env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("delta-rs: %v\n%s", err, stderr.String())
	}
	var got map[string]struct {
		Version int64          `json:"version"`
		Rows    map[string]int `json:"rows"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("delta-rs output %q: %v", out, err)
	}
	m, s := got[drift.MetricsTable.URI(lake)], got[drift.StateTable.URI(lake)]
	if len(m.Rows) != 2 || m.Rows["2022-06-05"] != per["2022-06-05"] || m.Rows["2022-06-06"] != per["2022-06-06"] {
		t.Errorf("delta-rs drift_metrics rows %v, ours %v", m.Rows, per)
	}
	if len(s.Rows) != 2 || s.Rows["2022-06-05"] != 1 || s.Rows["2022-06-06"] != 1 {
		t.Errorf("delta-rs drift_state rows %v, want one per day", s.Rows)
	}
	if strings.Contains(stderr.String(), "Traceback") {
		t.Errorf("delta-rs: %s", stderr.String())
	}
}
