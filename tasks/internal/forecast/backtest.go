package forecast

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// BacktestConfig sets up a rolling-origin backtest.
type BacktestConfig struct {
	// Weeks: one origin per day (local midnight) over the last Weeks weeks
	// whose 24 hours all lie in the data (default 4).
	Weeks int
	// RetrainDays refits each model every that many origins: 1 daily, 7
	// weekly (default 7). In between, the last model forecasts from the
	// newer data.
	RetrainDays int
	// KeepBands keeps every forecast in the report (for peers and tests).
	KeepBands bool
	// Progress gets a line per retraining; nil: quiet.
	Progress io.Writer
}

// NoPeaksSuffix names the backtest report of a model with a calibrated
// daily peak (Conformal.Peaks) scored without it: "xgb-nopeaks".
const NoPeaksSuffix = "-nopeaks"

// BacktestOrigins returns the daily origins of the last weeks of p whose
// whole horizon lies in the data.
func BacktestOrigins(p *Panel, cal *Calendar, weeks int) []int {
	return DailyOrigins(p, cal, max(p.Hours-weeks*168, 0), p.Hours-Horizon+1)
}

// SeriesMetrics are the scores of one model on one series.
type SeriesMetrics struct {
	Series string  `json:"series"`
	Metric string  `json:"metric"`
	Group  string  `json:"group"`
	Scores Metrics `json:"scores"`
	scorer *Scorer
}

// ModelReport holds a model's backtest scores per series and per group
// ("all", "total", "category", "app").
type ModelReport struct {
	Model   string             `json:"model"`
	Seconds float64            `json:"seconds"` // fit + predict over the whole backtest
	Groups  map[string]Metrics `json:"groups"`
	Series  []SeriesMetrics    `json:"series"`
	// Bands are the forecasts [origin][series] when KeepBands is set.
	Bands [][]Band `json:"-"`
}

// BacktestReport is the outcome of Backtest.
type BacktestReport struct {
	Origins     []time.Time   `json:"origins"`
	RetrainDays int           `json:"retrain_days"`
	Models      []ModelReport `json:"models"`
}

// Model returns the report of a model by name, or nil.
func (r *BacktestReport) Model(name string) *ModelReport {
	for i := range r.Models {
		if r.Models[i].Model == name {
			return &r.Models[i]
		}
	}
	return nil
}

// Backtest runs each model over the rolling origins of the last cfg.Weeks
// weeks. Every fit and prediction sees the panel truncated at its origin,
// so no forecast can read data from after its origin.
func Backtest(ctx context.Context, p *Panel, cal *Calendar, models []*Conformal, cfg BacktestConfig) (*BacktestReport, error) {
	weeks, every := cfg.Weeks, cfg.RetrainDays
	if weeks <= 0 {
		weeks = 4
	}
	if every <= 0 {
		every = 7
	}
	origins := BacktestOrigins(p, cal, weeks)
	if len(origins) == 0 {
		return nil, fmt.Errorf("forecast: backtest: no origin with a full horizon in %d hours", p.Hours)
	}
	rep := &BacktestReport{RetrainDays: every}
	for _, o := range origins {
		rep.Origins = append(rep.Origins, p.Time(o))
	}
	for _, m := range models {
		t0 := time.Now()
		bands := make([][]Band, len(origins))
		// A model with a calibrated peak is also scored without it, from
		// the same fits (NoPeaksSuffix).
		var plain [][]Band
		if m.Peaks {
			plain = make([][]Band, len(origins))
		}
		for k, o := range origins {
			view := p.Truncate(o)
			if k%every == 0 {
				if cfg.Progress != nil {
					fmt.Fprintf(cfg.Progress, "forecast: backtest %s: fit at %s (origin %d/%d)\n",
						m.Name(), p.Time(o).Format(time.DateTime), k+1, len(origins))
				}
				if err := m.Fit(ctx, view, cal); err != nil {
					return nil, fmt.Errorf("forecast: backtest %s at %s: %w", m.Name(), p.Time(o).Format(time.RFC3339), err)
				}
			}
			b, err := m.Predict(ctx, view, cal, []int{o})
			if err != nil {
				return nil, fmt.Errorf("forecast: backtest %s at %s: %w", m.Name(), p.Time(o).Format(time.RFC3339), err)
			}
			bands[k] = b[0]
			if plain != nil {
				if b, err = m.predict(ctx, view, cal, []int{o}, false); err != nil {
					return nil, fmt.Errorf("forecast: backtest %s at %s: %w", m.Name(), p.Time(o).Format(time.RFC3339), err)
				}
				plain[k] = b[0]
			}
		}
		mr := Score(p, origins, bands, m.Name())
		mr.Seconds = time.Since(t0).Seconds()
		if cfg.KeepBands {
			mr.Bands = bands
		}
		rep.Models = append(rep.Models, mr)
		if plain != nil {
			pr := Score(p, origins, plain, m.Name()+NoPeaksSuffix)
			pr.Seconds = mr.Seconds
			if cfg.KeepBands {
				pr.Bands = plain
			}
			rep.Models = append(rep.Models, pr)
		}
	}
	return rep, nil
}

// Score scores forecasts bands[origin][series] (from any model, ours or a
// peer's) against the panel.
func Score(p *Panel, origins []int, bands [][]Band, model string) ModelReport {
	mr := ModelReport{Model: model, Groups: map[string]Metrics{}}
	for s := range p.Series {
		sr := &p.Series[s]
		sc := &Scorer{}
		for k, o := range origins {
			actual := make([]float64, Horizon)
			for h := range actual {
				actual[h] = math.NaN()
				if o+h < p.Hours {
					actual[h] = sr.Values[o+h]
				}
			}
			sc.Add(actual, bands[k][s], MASEScale(sr.Values, o, 168))
			sc.AddPeakEvents(actual, bands[k][s].Upper[0], PeakThreshold(sr.Values, o))
		}
		mr.Series = append(mr.Series, SeriesMetrics{Series: sr.Name, Metric: sr.Metric, Group: sr.Group(), Scores: sc.Metrics(), scorer: sc})
	}
	groups := map[string][]*Scorer{}
	for _, sm := range mr.Series {
		groups["all"] = append(groups["all"], sm.scorer)
		groups[sm.Group] = append(groups[sm.Group], sm.scorer)
	}
	for g, sc := range groups {
		mr.Groups[g] = Summarize(sc)
	}
	return mr
}

// WriteComparison prints the models side by side, one row per group and
// model: MASE, sMAPE, MAPE, coverage, peak capture, peak-event recall and
// precision and fit+predict time.
func WriteComparison(w io.Writer, reports ...ModelReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tmodel\tMASE\tsMAPE %\tMAPE %\tcover80 %\tcover95 %\tpeak %\tpeak hour %\tpeak vol %\tevent recall %\tevent prec %\tseries\tseconds\t")
	for _, g := range []string{"all", "total", "category", "app"} {
		for _, r := range reports {
			m, ok := r.Groups[g]
			if !ok {
				continue
			}
			n := 0
			for _, s := range r.Series {
				if g == "all" || s.Group == g {
					n++
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t\n", g, r.Model,
				fmtNum(m.MASE, 3), fmtNum(m.SMAPE, 1), fmtNum(m.MAPE, 1), fmtNum(m.Coverage80, 1),
				fmtNum(m.Coverage95, 1), fmtNum(m.PeakCapture, 1), fmtNum(m.PeakHour, 1), fmtNum(m.PeakVolume, 1),
				fmtNum(m.PeakEventRecall, 1), fmtNum(m.PeakEventPrecision, 1), n, r.Seconds)
		}
	}
	return tw.Flush()
}

// WriteSeriesTable prints per-series MASE, sMAPE, coverage and peak capture of
// the models, one row per series.
func WriteSeriesTable(w io.Writer, reports ...ModelReport) error {
	if len(reports) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"series"}
	for _, r := range reports {
		head = append(head, r.Model+" MASE", "cov80", "peak")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, s := range reports[0].Series {
		cells := []string{s.Series + "/" + s.Metric}
		for _, r := range reports {
			m := r.Series[i].Scores
			cells = append(cells, fmtNum(m.MASE, 3), fmtNum(m.Coverage80, 1), fmtNum(m.PeakCapture, 1))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

func fmtNum(x float64, prec int) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, x)
}
