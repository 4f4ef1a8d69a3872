package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// Defaults of the MLflow names the report follows (those of the demo and
// the DAGs).
const (
	DefaultModel              = "telco-service-classifier"
	DefaultAlias              = "champion"
	DefaultForecastExperiment = "telcotraffic-forecast"
)

// Config configures Build and Write.
type Config struct {
	Lake     string           // lake root URI (required)
	Out      string           // URI of the .html file to write
	Versions map[string]int64 // pinned Delta versions by table; others: the latest
	Store    storage.Options
	Title    string
	TopApps  int // apps shown by name (default 10)
	// Days bounds the traffic charts to the last Days days of
	// traffic_hourly (0: all of it); week-over-week shares and emerging
	// services use every row.
	Days int
	// Model and Alias name the classifier whose evaluation is shown;
	// ForecastExperiment the forecaster's runs in the lineage.
	Model, Alias, ForecastExperiment string
	MLflow                           *mlflowclient.Client // nil: the MLflow sections say it is not configured
	Now                              func() time.Time     // default time.Now
	Progress                         io.Writer            // nil: quiet
}

// Validate checks the required fields.
func (c *Config) Validate() error {
	switch {
	case c.Lake == "":
		return errors.New("report: --lake is required")
	case c.Out == "":
		return errors.New("report: --out is required")
	case !strings.HasSuffix(c.Out, ".html"):
		return fmt.Errorf("report: --out %q: name the .html file to write", c.Out)
	}
	return nil
}

// Result is the report task's one-line JSON result.
type Result struct {
	Out    string           `json:"out"`   // the page's URI
	Bytes  int              `json:"bytes"` // page size
	Tables map[string]int64 `json:"tables"`
	// Absent lists the sections shown as absent (their source missing).
	Absent []string `json:"absent_sections"`
	// Alerts counts the capacity alerts of the latest forecast run and the
	// drift alerts listed.
	Alerts      int    `json:"capacity_alerts"`
	DriftAlerts int    `json:"drift_alerts"`
	Champion    string `json:"champion_version,omitempty"`
}

// Build reads the lake and MLflow into the page's data.
func Build(ctx context.Context, cfg Config) (*Data, error) {
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	topApps := cfg.TopApps
	if topApps <= 0 {
		topApps = 10
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	d := &Data{Title: cfg.Title, Generated: now().UTC().Format(time.RFC3339), Lake: cfg.Lake, ECharts: EChartsVersion}
	if d.Title == "" {
		d.Title = "TelcoTraffic operator's report"
	}
	version := func(name string) int64 {
		if v, ok := cfg.Versions[name]; ok {
			return v
		}
		return -1
	}
	for name := range cfg.Versions {
		if !slices.Contains(Tables, name) {
			return nil, fmt.Errorf("report: --version %s: not a table of the report (%v)", name, Tables)
		}
	}
	t0 := time.Now()
	hourly, hRef, err := readTable[tablerow.TrafficHourly](ctx, cfg.Lake, HourlyTable, version(HourlyTable), cfg.Store)
	if err != nil {
		return nil, err
	}
	fc, fRef, err := readTable[tablerow.Forecast](ctx, cfg.Lake, ForecastsTable, version(ForecastsTable), cfg.Store)
	if err != nil {
		return nil, err
	}
	usage, uRef, err := readTable[tablerow.AppUsageDaily](ctx, cfg.Lake, UsageTable, version(UsageTable), cfg.Store)
	if err != nil {
		return nil, err
	}
	drift, dRef, err := readTable[tablerow.DriftMetric](ctx, cfg.Lake, DriftTable, version(DriftTable), cfg.Store)
	if err != nil {
		return nil, err
	}
	d.Tables = []TableRef{hRef, fRef, uRef, dRef}
	replay, rRef, err := readTable[tablerow.ReplayWeek](ctx, cfg.Lake, ReplayTable, -1, cfg.Store)
	if err != nil {
		return nil, err
	}
	if !rRef.Absent {
		d.Tables = append(d.Tables, rRef)
		d.Replay = &Replay{Section: Section{Source: []string{rRef.source()}}}
		for _, w := range replay {
			d.Replay.Weeks = append(d.Replay.Weeks, replayRow(w))
		}
	}
	for _, r := range d.Tables {
		if r.Absent {
			fmt.Fprintf(progress, "report: %s: absent\n", r.Name)
		} else {
			fmt.Fprintf(progress, "report: %s@%d: %d rows\n", r.Name, r.Version, r.Rows)
		}
	}
	fmt.Fprintf(progress, "report: read the lake in %.1fs\n", time.Since(t0).Seconds())

	if hRef.Absent {
		d.Traffic.Absent = absentNote(hRef, "the Beam aggregate job")
	} else {
		d.Traffic = buildTraffic(lastDays(hourly, cfg.Days), topApps)
		d.Traffic.WoW, d.Traffic.Weeks = weekOverWeek(hourly)
		d.Traffic.Source = []string{hRef.source()}
	}
	switch {
	case fRef.Absent:
		d.Forecast.Absent = absentNote(fRef, "the forecast task")
	default:
		d.Forecast = buildForecast(fc, hourly)
		d.Forecast.Source = []string{fRef.source()}
		if !hRef.Absent {
			d.Forecast.Source = append(d.Forecast.Source, hRef.source())
		}
	}
	if uRef.Absent {
		d.Usage.Absent = absentNote(uRef, "the score task")
	} else {
		d.Usage = buildUsage(usage, topApps)
		d.Usage.Source = []string{uRef.source()}
	}
	if dRef.Absent {
		d.Drift.Absent = absentNote(dRef, "the driftcheck task")
	} else {
		d.Drift = buildDrift(drift)
		d.Drift.Source = []string{dRef.source()}
	}
	if !hRef.Absent {
		d.Drift.Emerging = emerging(hourly)
		d.Drift.Source = append(d.Drift.Source, hRef.source())
	}

	appCategory := map[string]string{}
	for _, r := range hourly {
		appCategory[r.App] = r.Category
	}
	if cfg.MLflow == nil {
		note := "MLflow is not configured (set MLFLOW_TRACKING_URI)."
		d.Classifier.Absent, d.Lineage.Absent = note, note
		return d, nil
	}
	d.MLflow = cfg.MLflow.BaseURL()
	model, alias, exp := cmpOr(cfg.Model, DefaultModel), cmpOr(cfg.Alias, DefaultAlias), cmpOr(cfg.ForecastExperiment, DefaultForecastExperiment)
	if d.Classifier, err = buildClassifier(ctx, cfg.MLflow, model, alias, appCategory); err != nil {
		return nil, err
	}
	if d.Classifier.Absent == "" {
		d.Classifier.Source = []string{"mlflow:" + model + "/" + d.Classifier.Version}
		if d.Classifier.Data != "" {
			d.Classifier.Source = append(d.Classifier.Source, d.Classifier.Data)
		}
	}
	if d.Lineage, err = buildLineage(ctx, cfg.MLflow, []string{model}, []string{exp}); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "report: read MLflow at %s\n", d.MLflow)
	return d, nil
}

// lastDays returns the rows of the last days days before the latest hour
// (days ≤ 0: all rows).
func lastDays(rows []tablerow.TrafficHourly, days int) []tablerow.TrafficHourly {
	if days <= 0 || len(rows) == 0 {
		return rows
	}
	var last time.Time
	for _, r := range rows {
		if r.Hour.After(last) {
			last = r.Hour
		}
	}
	from := last.Add(-time.Duration(days)*24*time.Hour + time.Hour)
	out := make([]tablerow.TrafficHourly, 0, len(rows))
	for _, r := range rows {
		if !r.Hour.Before(from) {
			out = append(out, r)
		}
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Result summarises the data of a page written to out.
func (d *Data) Result(out string, size int) Result {
	r := Result{Out: out, Bytes: size, Tables: map[string]int64{}, Alerts: len(d.Forecast.Alerts),
		DriftAlerts: len(d.Drift.Alerts), Champion: d.Classifier.Version}
	for _, t := range d.Tables {
		r.Tables[t.Name] = t.Version
	}
	for _, s := range []struct {
		name string
		sec  Section
	}{{"traffic", d.Traffic.Section}, {"forecast", d.Forecast.Section}, {"classifier", d.Classifier.Section},
		{"usage", d.Usage.Section}, {"drift", d.Drift.Section}, {"lineage", d.Lineage.Section}} {
		if s.sec.Absent != "" {
			r.Absent = append(r.Absent, s.name)
		}
	}
	return r
}

// Write puts the page at the URI out (a path, file:// or s3://…/name.html).
func Write(ctx context.Context, out string, page []byte, opts storage.Options) error {
	if err := storage.WriteFile(ctx, out, page, opts); err != nil {
		return fmt.Errorf("report: write %s: %w", out, err)
	}
	return nil
}

func nan() float64 { return math.NaN() }
