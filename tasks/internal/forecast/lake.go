package forecast

import (
	"context"
	"fmt"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Table names of the lake the forecaster reads and writes.
var (
	HourlyTable    = catalog.TrafficHourly.Name
	ForecastsTable = catalog.Forecasts.Name
)

// LakeSource reads the traffic_hourly Delta table at a pinned version
// (Version < 0: the latest, resolved once and recorded in Resolved).
type LakeSource struct {
	Lake     string // lake root URI
	Version  int64
	Store    storage.Options
	Resolved int64 // the version actually read
}

// TrafficHourly implements Source.
func (s *LakeSource) TrafficHourly(ctx context.Context) ([]tablerow.TrafficHourly, error) {
	t, snap, err := catalog.TrafficHourly.OpenAt(ctx, s.Lake, s.Version, s.Store, lakehouse.Options{})
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	s.Resolved = snap.Version
	var rows []tablerow.TrafficHourly
	for r, err := range lakehouse.Rows[tablerow.TrafficHourly](ctx, t, snap) {
		if err != nil {
			return nil, fmt.Errorf("forecast: %s@%d: %w", HourlyTable, snap.Version, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// WriteForecasts writes one run's forecasts to the forecasts table,
// replacing the run_date partition, so a retried run leaves the table as
// one run would. It returns the committed version.
func WriteForecasts(ctx context.Context, lake string, opts storage.Options, rows []tablerow.Forecast) (int64, error) {
	if len(rows) == 0 {
		return 0, fmt.Errorf("forecast: no forecast rows to write")
	}
	t, err := catalog.OpenOrCreate[tablerow.Forecast](ctx, catalog.Forecasts, lake, opts, lakehouse.Options{EngineInfo: "telcotraffic-forecast"})
	if err != nil {
		return 0, fmt.Errorf("forecast: %w", err)
	}
	days := map[string]bool{}
	var parts []map[string]string
	for _, r := range rows {
		if !days[r.RunDate] {
			days[r.RunDate] = true
			parts = append(parts, map[string]string{"run_date": r.RunDate})
		}
	}
	res, err := lakehouse.Write(ctx, t, rows, lakehouse.WriteOptions{Mode: lakehouse.ModeReplaceWhere, Partitions: parts})
	if err != nil {
		return 0, fmt.Errorf("forecast: %s: %w", ForecastsTable, err)
	}
	return res.Version, nil
}
