package forecast

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// Config is the configuration of Run.
type Config struct {
	Panel    PanelOptions
	Calendar *Calendar
	// RunDate is the local day to forecast (its midnight is the origin);
	// zero: the day after the data.
	RunDate time.Time
	// Backtest configures the rolling-origin backtest; Weeks < 0 skips it.
	Backtest BacktestConfig
	// Model is the main model; nil: DefaultXGBoost(Threads).
	Model   *XGBoost
	Threads int
	// Calibration of the intervals (see Conformal).
	CalDays, Spread int
	Refit           bool
	// NoPeaks leaves the main model's daily peak uncalibrated (see
	// Conformal.Peaks).
	NoPeaks bool
	// Thresholds are capacities per hour by series key ("total/bytes"); a
	// series without one gets Headroom × its highest hour of the last four
	// weeks when Headroom > 0.
	Thresholds map[string]float64
	Headroom   float64
	Progress   io.Writer
}

// Alert reports a series whose 95 % upper bound crosses its capacity
// threshold within the horizon.
type Alert struct {
	Series    string    `json:"series"`
	Metric    string    `json:"metric"`
	Threshold float64   `json:"threshold"`
	First     time.Time `json:"first_hour"` // first hour over the threshold
	Hours     int       `json:"hours"`      // hours over the threshold
	MaxUpper  float64   `json:"max_upper_95"`
	MaxPoint  float64   `json:"max_point"`
}

// Result is the outcome of Run.
type Result struct {
	Panel     *Panel
	RunDate   string
	Origin    time.Time
	Forecasts []tablerow.Forecast // rows of the forecasts table
	Alerts    []Alert
	Backtest  *BacktestReport // nil when skipped
}

// Models returns the models of a run: the main model, with its daily peak
// calibrated (Conformal.Peaks), and the two seasonal naive baselines, each
// with conformal intervals.
func Models(cfg Config) []*Conformal {
	main := cfg.Model
	if main == nil {
		main = DefaultXGBoost(cfg.Threads)
	}
	wrap := func(f Forecaster) *Conformal {
		return &Conformal{Base: f, CalDays: cfg.CalDays, Spread: cfg.Spread, Refit: cfg.Refit}
	}
	m := wrap(main)
	m.Peaks = !cfg.NoPeaks
	return []*Conformal{m, wrap(SeasonalNaive{168}), wrap(SeasonalNaive{24})}
}

// ErrTooLittleData is returned when the traffic is too short for the
// models' calibration window (a young lake: nothing to forecast yet).
var ErrTooLittleData = errors.New("forecast: too little data")

// Run reads the traffic, builds the series, backtests the models and
// forecasts the run date with the main model.
func Run(ctx context.Context, src Source, cfg Config) (*Result, error) {
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	if cfg.Calendar == nil {
		return nil, fmt.Errorf("forecast: no calendar")
	}
	rows, err := src.TrafficHourly(ctx)
	if err != nil {
		return nil, err
	}
	p, err := BuildPanel(rows, cfg.Panel)
	if err != nil {
		return nil, err
	}
	gaps := 0
	for i := range p.Hours {
		if !p.Observed(i) {
			gaps++
		}
	}
	fmt.Fprintf(progress, "forecast: %d series over %d hours from %s (%d gap hours)\n",
		len(p.Series), p.Hours, p.Start.Format(time.RFC3339), gaps)

	res := &Result{Panel: p}
	models := Models(cfg)
	defer closeModels(models)
	if w := cfg.Backtest.Weeks; w >= 0 {
		if w == 0 {
			w = 4
		}
		// The first origin needs the calibration window and a week of lags
		// before it; shorter data gets a shorter backtest.
		room := (p.Hours - (cmp.Or(cfg.CalDays, 14)*24 + 168 + Horizon)) / 168
		if room < w {
			fmt.Fprintf(progress, "forecast: %d days of data leave room for a %d-week backtest, not %d\n", p.Hours/24, max(room, 0), w)
			w = room
		}
		bc := cfg.Backtest
		bc.Weeks = w
		if bc.Progress == nil {
			bc.Progress = progress
		}
		if w > 0 {
			if res.Backtest, err = Backtest(ctx, p, cfg.Calendar, models, bc); err != nil {
				return nil, err
			}
		}
	}

	origin := cfg.RunDate
	if origin.IsZero() {
		origin = p.Time(p.Hours)
	}
	origin = cfg.Calendar.LocalMidnight(origin)
	res.Origin = origin
	res.RunDate = origin.In(cfg.Calendar.Location).Format(time.DateOnly)
	res.Forecasts, err = Forecast(ctx, p, cfg.Calendar, models[0], origin)
	if err != nil {
		return nil, err
	}
	res.Alerts = Alerts(p, res.Forecasts, cfg.Thresholds, cfg.Headroom)
	return res, nil
}

func closeModels(ms []*Conformal) {
	for _, m := range ms {
		if c, ok := m.Base.(io.Closer); ok {
			c.Close()
		}
	}
}

// Forecast fits model on the data before origin and returns its forecast of
// the 24 hours from origin as forecasts-table rows. Hours between the end of
// the data and the origin are gaps.
func Forecast(ctx context.Context, p *Panel, cal *Calendar, model *Conformal, origin time.Time) ([]tablerow.Forecast, error) {
	o := p.Index(origin)
	if o <= 0 {
		return nil, fmt.Errorf("forecast: origin %s before the data", origin.Format(time.RFC3339))
	}
	view := extend(p, o).Truncate(o)
	if err := model.Fit(ctx, view, cal); err != nil {
		return nil, err
	}
	bands, err := model.Predict(ctx, view, cal, []int{o})
	if err != nil {
		return nil, err
	}
	runDate := origin.In(cal.Location).Format(time.DateOnly)
	var out []tablerow.Forecast
	for s, b := range bands[0] {
		for h := range Horizon {
			out = append(out, tablerow.Forecast{
				RunDate: runDate, Origin: origin.UTC(), Hour: p.Time(o + h).UTC(), Horizon: int32(h + 1),
				Series: p.Series[s].Name, Metric: p.Series[s].Metric, Point: b.Point[h],
				Lower80: b.Lower[0][h], Upper80: b.Upper[0][h], Lower95: b.Lower[1][h], Upper95: b.Upper[1][h],
				Model: model.Name(),
			})
		}
	}
	return out, nil
}

// extend returns p with NaN hours appended up to n hours (p itself when it
// is long enough).
func extend(p *Panel, n int) *Panel {
	if n <= p.Hours {
		return p
	}
	q := &Panel{Start: p.Start, Hours: n, Series: make([]Series, len(p.Series))}
	for k, s := range p.Series {
		v := append(make([]float64, 0, n), s.Values...)
		for len(v) < n {
			v = append(v, math.NaN())
		}
		q.Series[k] = Series{Name: s.Name, Metric: s.Metric, Values: v}
	}
	return q
}

// Alerts marks the forecast rows whose upper 95 % bound crosses their
// series' threshold and returns one alert per such series. A series'
// threshold is thresholds[key], else headroom × its highest observed hour of
// the last four weeks of p (headroom ≤ 0: no threshold).
func Alerts(p *Panel, rows []tablerow.Forecast, thresholds map[string]float64, headroom float64) []Alert {
	limit := map[string]float64{}
	for _, s := range p.Series {
		if t, ok := thresholds[s.Key()]; ok {
			limit[s.Key()] = t
			continue
		}
		if headroom <= 0 {
			continue
		}
		peak := math.NaN()
		for _, v := range s.Values[max(len(s.Values)-28*24, 0):] {
			if !math.IsNaN(v) && (math.IsNaN(peak) || v > peak) {
				peak = v
			}
		}
		if !math.IsNaN(peak) {
			limit[s.Key()] = headroom * peak
		}
	}
	byKey := map[string]*Alert{}
	var order []string
	for i := range rows {
		r := &rows[i]
		key := r.Series + "/" + r.Metric
		t, ok := limit[key]
		if !ok || r.Upper95 < t {
			continue
		}
		r.Alert = true
		a := byKey[key]
		if a == nil {
			a = &Alert{Series: r.Series, Metric: r.Metric, Threshold: t, First: r.Hour}
			byKey[key] = a
			order = append(order, key)
		}
		a.Hours++
		a.MaxUpper = max(a.MaxUpper, r.Upper95)
		a.MaxPoint = max(a.MaxPoint, r.Point)
	}
	out := make([]Alert, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

// WriteFiles writes the result into dir: forecasts.csv and forecasts.json
// (the forecasts table rows), alerts.json, and, after a backtest,
// backtest.json (per model, group and series) and backtest.csv (per series).
func (r *Result) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "forecasts.json"), r.Forecasts); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "forecasts.csv"), func(w io.Writer) error { return WriteForecastsCSV(w, r.Forecasts) }); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "alerts.json"), r.Alerts); err != nil {
		return err
	}
	if r.Backtest == nil {
		return nil
	}
	if err := writeJSON(filepath.Join(dir, "backtest.json"), r.Backtest); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "backtest.csv"), func(w io.Writer) error { return WriteBacktestCSV(w, r.Backtest) })
}

// WriteForecastsCSV writes forecasts-table rows with a header.
func WriteForecastsCSV(w io.Writer, rows []tablerow.Forecast) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"run_date", "origin", "hour", "horizon", "series", "metric", "point", "lower_80", "upper_80", "lower_95", "upper_95", "model", "alert"})
	g := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	for _, r := range rows {
		cw.Write([]string{r.RunDate, r.Origin.Format(time.RFC3339), r.Hour.Format(time.RFC3339), strconv.Itoa(int(r.Horizon)),
			r.Series, r.Metric, g(r.Point), g(r.Lower80), g(r.Upper80), g(r.Lower95), g(r.Upper95), r.Model, strconv.FormatBool(r.Alert)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteBacktestCSV writes one row per model and series with its scores.
func WriteBacktestCSV(w io.Writer, rep *BacktestReport) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"model", "series", "metric", "group", "origins", "hours", "rmse", "mae", "mape", "smape", "mase", "coverage_80", "coverage_95", "peak_capture", "peak_days", "peak_hour", "peak_volume", "peak_event_recall", "peak_event_precision", "peak_events", "peak_flags"})
	g := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	}
	for _, m := range rep.Models {
		for _, s := range m.Series {
			c := s.Scores
			cw.Write([]string{m.Model, s.Series, s.Metric, s.Group, strconv.Itoa(c.Origins), strconv.Itoa(c.Hours),
				g(c.RMSE), g(c.MAE), g(c.MAPE), g(c.SMAPE), g(c.MASE), g(c.Coverage80), g(c.Coverage95), g(c.PeakCapture), strconv.Itoa(c.PeakDays), g(c.PeakHour), g(c.PeakVolume),
				g(c.PeakEventRecall), g(c.PeakEventPrecision), strconv.Itoa(c.PeakEvents), strconv.Itoa(c.PeakFlags)})
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeJSON(path string, v any) error {
	return writeAtomic(path, func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(v)
	})
}

// writeAtomic writes a file under a temporary name and renames it, so a
// retried task never leaves a half-written file.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("forecast: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("forecast: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	return nil
}
