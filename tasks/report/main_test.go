package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/report"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

// TestRunOnS3 reads a lake on S3 (versitygw) and writes the page to an
// s3:// URI, as the Airflow task does, then reads the page back.
func TestRunOnS3(t *testing.T) {
	ctx := t.Context()
	g := testenv.StartGateway(t)
	g.Bucket(t, "telco", "")
	opts := storage.Options{S3: g.Options("telco", "")}

	// Two days of hourly traffic of two apps.
	var rows []tablerow.TrafficHourly
	start := time.Date(2022, 3, 7, 0, 0, 0, 0, time.UTC)
	for h := range 48 {
		hour := start.Add(time.Duration(h) * time.Hour)
		for i, app := range []string{"youtube", "teams"} {
			rows = append(rows, tablerow.TrafficHourly{Hour: hour, App: app, Category: []string{"Streaming media", "Videoconferencing"}[i],
				Flows: int64(10 + h), Bytes: int64(1000 * (h + 1) * (i + 1)), Week: cesnet.WeekLabel(hour)})
		}
	}
	store, err := storage.Open(ctx, "s3://telco/lake/"+report.HourlyTable, opts)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := lakehouse.Create[tablerow.TrafficHourly](ctx, store, lakehouse.CreateOptions{Name: report.HourlyTable, PartitionColumns: []string{"week"}}, lakehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lakehouse.Write(ctx, tb, rows, lakehouse.WriteOptions{Mode: lakehouse.ModeAppend}); err != nil {
		t.Fatal(err)
	}

	cfg := config{rep: report.Config{Lake: "s3://telco/lake", Out: "s3://telco/reports/2022-03-09/report.html", Store: opts}}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, cfg, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res report.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], err)
	}
	if res.Out != cfg.rep.Out || res.Tables[report.HourlyTable] != 1 || res.Tables[report.ForecastsTable] != -1 ||
		strings.Join(res.Absent, ",") != "forecast,classifier,usage,drift,lineage" {
		t.Errorf("result %+v", res)
	}
	reports, err := storage.Open(ctx, "s3://telco/reports", opts)
	if err != nil {
		t.Fatal(err)
	}
	page, err := reports.Get(ctx, "2022-03-09/report.html")
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != res.Bytes || !bytes.HasPrefix(page, []byte("<!doctype html>")) || !bytes.Contains(page, []byte(`"name":"youtube"`)) ||
		!bytes.Contains(page, []byte("Table forecasts does not exist yet at s3://telco/lake/forecasts")) {
		t.Errorf("page on S3: %d bytes (result says %d), head %q", len(page), res.Bytes, page[:min(80, len(page))])
	}
	if !strings.Contains(stderr.String(), "report: traffic_hourly@1: 96 rows") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  report.Config
		env  map[string]string
		want string
	}{
		{report.Config{Out: "r.html"}, nil, "--lake"},
		{report.Config{Lake: "l"}, nil, "--out"},
		{report.Config{Lake: "l", Out: "r"}, nil, ".html"},
		{report.Config{Lake: t.TempDir(), Out: "r.html"}, map[string]string{"MLFLOW_TRACKING_URI": "http://x", "MLFLOW_TRACKING_INSECURE_TLS": "maybe"}, "INSECURE_TLS"},
		{report.Config{Lake: "ftp://x", Out: "r.html"}, nil, "unsupported URI scheme"},
	} {
		var stdout bytes.Buffer
		err := run(context.Background(), config{rep: tc.cfg}, func(k string) string { return tc.env[k] }, &stdout, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", tc.cfg, err, tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("result written on failure: %q", stdout.String())
		}
	}
}

// Task binaries must stay small: they must not link the Beam SDK.
func TestNoBeamDependency(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/report", "github.com/apache/beam")
}
