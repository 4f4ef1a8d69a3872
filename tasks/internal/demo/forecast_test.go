package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient/mlflowtest"
	fc "github.com/telcotraffic/telcotraffic/tasks/internal/forecast"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// TestForecastRegistersAndPromotes runs the demo's forecast stage twice
// with the binaries (forecast → register → promote) against a real MLflow
// registry on a small traffic_hourly table: the first forecaster becomes
// champion, the second (same data, the champion's settings) ties with it
// and the champion stays.
func TestForecastRegistersAndPromotes(t *testing.T) {
	ctx := context.Background()
	raw, lake := t.TempDir(), filepath.Join(t.TempDir(), "lake")
	if _, err := synth.Generate(ctx, synth.Config{Out: raw, Start: time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC), Days: 29,
		FlowsPerDay: 3000, Seed: 2, Compress: "gz", Workers: 1}); err != nil {
		t.Fatal(err)
	}
	rows, err := fc.RawSource{Root: raw}.TrafficHourly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(ctx, filepath.Join(lake, fc.HourlyTable), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tab, err := lakehouse.OpenOrCreate[tablerow.TrafficHourly](ctx, st, lakehouse.CreateOptions{Name: fc.HourlyTable}, lakehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lakehouse.Append(ctx, tab, rows, nil); err != nil {
		t.Fatal(err)
	}
	mlflow := mlflowtest.Start(t)
	cfg := Config{Bin: buildTasks(t, "forecast", "register", "promote"), Dir: t.TempDir(), BacktestWeeks: 1,
		env: []string{"MLFLOW_TRACKING_URI=" + mlflow.URL}}
	var log bytes.Buffer
	for i, want := range []struct{ version, promotion, champion string }{
		{"1", "first_champion", "1"},
		{"2", "kept_champion", "1"},
	} {
		var sum Summary
		if err := forecast(ctx, cfg, lake, &log, &sum); err != nil {
			t.Fatalf("forecast %d: %v\n%s", i+1, err, log.String())
		}
		got := []string{sum.Get("forecaster_version"), sum.Get("forecaster_promotion"), sum.Get("forecaster_champion_version")}
		if got[0] != want.version || got[1] != want.promotion || got[2] != want.champion {
			t.Errorf("forecast %d: version, promotion, champion %v, want %v\n%s", i+1, got, want, log.String())
		}
	}
}
