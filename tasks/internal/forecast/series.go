package forecast

import (
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// Horizon is the number of hours forecast from each origin.
const Horizon = 24

// Source supplies the hourly traffic to forecast. SliceSource holds rows in
// memory and RawSource aggregates a raw dataset; a traffic_hourly reader
// pinned at a Delta version implements the same interface.
type Source interface {
	TrafficHourly(ctx context.Context) ([]tablerow.TrafficHourly, error)
}

// SliceSource is a Source over rows already in memory.
type SliceSource []tablerow.TrafficHourly

// TrafficHourly returns the rows.
func (s SliceSource) TrafficHourly(context.Context) ([]tablerow.TrafficHourly, error) { return s, nil }

// Series is one hourly series on its Panel's grid.
type Series struct {
	Name   string    // "total", "category:<name>" or "app:<name>"
	Metric string    // "bytes" or "flows"
	Values []float64 // one per grid hour; NaN marks a gap (no data), 0 is no traffic
}

// Key names the series uniquely: "total/bytes".
func (s *Series) Key() string { return s.Name + "/" + s.Metric }

// Group is the kind of series: "total", "category" or "app".
func (s *Series) Group() string {
	g, _, _ := strings.Cut(s.Name, ":")
	return g
}

// Panel is a set of series on one grid of UTC hours starting at Start.
type Panel struct {
	Start  time.Time // first hour, UTC, truncated to the hour
	Hours  int       // length of every Series.Values
	Series []Series
}

// Time returns the start of grid hour i.
func (p *Panel) Time(i int) time.Time { return p.Start.Add(time.Duration(i) * time.Hour) }

// Index returns the grid hour of instant t (which may lie outside the grid).
func (p *Panel) Index(t time.Time) int { return int(t.Sub(p.Start) / time.Hour) }

// Truncate returns a view of p holding only hours before i: the data known
// at origin i. The value slices are capped, so a model given the view
// cannot reslice past the origin.
func (p *Panel) Truncate(i int) *Panel {
	i = min(max(i, 0), p.Hours)
	q := &Panel{Start: p.Start, Hours: i, Series: make([]Series, len(p.Series))}
	for k, s := range p.Series {
		q.Series[k] = Series{Name: s.Name, Metric: s.Metric, Values: s.Values[:i:i]}
	}
	return q
}

// Observed reports whether hour i of the panel has data (the total is not a gap).
func (p *Panel) Observed(i int) bool {
	return len(p.Series) > 0 && i >= 0 && i < p.Hours && !math.IsNaN(p.Series[0].Values[i])
}

// PanelOptions select the series built from hourly traffic.
type PanelOptions struct {
	// From and To bound the grid (To exclusive); zero: the span of the rows.
	From, To time.Time
	// Metrics lists the measures: "bytes", "flows" (default both).
	Metrics []string
	// MinCategoryShare and MinAppShare keep categories and apps whose share
	// of all flows is at least this (default 0.01 and 0.02).
	MinCategoryShare, MinAppShare float64
	// MaxApps caps the app series, largest first (default 20; < 0: none).
	MaxApps int
	// Gaps are extra hours known to have no data, besides the hours without
	// any row (a missing day has no rows at all).
	Gaps []time.Time
}

func (o *PanelOptions) defaults() {
	if len(o.Metrics) == 0 {
		o.Metrics = []string{"bytes", "flows"}
	}
	if o.MinCategoryShare == 0 {
		o.MinCategoryShare = 0.01
	}
	if o.MinAppShare == 0 {
		o.MinAppShare = 0.02
	}
	if o.MaxApps == 0 {
		o.MaxApps = 20
	}
}

// BuildPanel turns traffic_hourly rows into the series to forecast: the
// total, every category and every app with enough volume, for each metric.
// An hour without any row is a gap (NaN in every series): in traffic of a
// whole network an hour of silence means missing data, not zero traffic.
// Within an observed hour, a service without a row had zero traffic.
func BuildPanel(rows []tablerow.TrafficHourly, opts PanelOptions) (*Panel, error) {
	opts.defaults()
	for _, m := range opts.Metrics {
		if m != "bytes" && m != "flows" {
			return nil, fmt.Errorf("forecast: unknown metric %q (want bytes or flows)", m)
		}
	}
	from, to := opts.From.UTC().Truncate(time.Hour), opts.To.UTC().Truncate(time.Hour)
	if from.IsZero() || to.IsZero() {
		lo, hi := time.Time{}, time.Time{}
		for _, r := range rows {
			h := r.Hour.UTC().Truncate(time.Hour)
			if lo.IsZero() || h.Before(lo) {
				lo = h
			}
			if h.After(hi) {
				hi = h
			}
		}
		if opts.From.IsZero() {
			from = lo
		}
		if opts.To.IsZero() {
			to = hi.Add(time.Hour)
		}
	}
	if len(rows) == 0 || !to.After(from) {
		return nil, fmt.Errorf("forecast: no traffic rows in [%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	p := &Panel{Start: from, Hours: int(to.Sub(from) / time.Hour)}

	var all float64
	catFlows, appFlows := map[string]float64{}, map[string]float64{}
	seen := make([]bool, p.Hours)
	for _, r := range rows {
		i := p.Index(r.Hour.UTC())
		if i < 0 || i >= p.Hours {
			continue
		}
		seen[i] = true
		all += float64(r.Flows)
		catFlows[r.Category] += float64(r.Flows)
		appFlows[r.App] += float64(r.Flows)
	}
	for _, g := range opts.Gaps {
		if i := p.Index(g.UTC()); i >= 0 && i < p.Hours {
			seen[i] = false
		}
	}
	cats := keep(catFlows, all, opts.MinCategoryShare, -1)
	apps := keep(appFlows, all, opts.MinAppShare, opts.MaxApps)

	names := []string{"total"}
	for _, c := range cats {
		names = append(names, "category:"+c)
	}
	for _, a := range apps {
		names = append(names, "app:"+a)
	}
	idx := map[string]int{}
	for _, m := range opts.Metrics {
		for _, n := range names {
			idx[n+"/"+m] = len(p.Series)
			v := make([]float64, p.Hours)
			for i := range v {
				if !seen[i] {
					v[i] = math.NaN()
				}
			}
			p.Series = append(p.Series, Series{Name: n, Metric: m, Values: v})
		}
	}
	add := func(name, metric string, i int, v float64) {
		if k, ok := idx[name+"/"+metric]; ok && seen[i] {
			p.Series[k].Values[i] += v
		}
	}
	for _, r := range rows {
		i := p.Index(r.Hour.UTC())
		if i < 0 || i >= p.Hours {
			continue
		}
		// Capacity is used in both directions: bytes counts both.
		vals := map[string]float64{"bytes": float64(r.Bytes + r.BytesRev), "flows": float64(r.Flows)}
		for _, m := range opts.Metrics {
			add("total", m, i, vals[m])
			add("category:"+r.Category, m, i, vals[m])
			add("app:"+r.App, m, i, vals[m])
		}
	}
	return p, nil
}

// keep returns the keys whose share of all is at least min, largest first,
// at most maxN (maxN < 0: no cap), ties by name.
func keep(m map[string]float64, all, minShare float64, maxN int) []string {
	var out []string
	for k, v := range m {
		if all > 0 && v/all >= minShare {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	if maxN >= 0 && len(out) > maxN {
		out = out[:maxN]
	}
	return out
}

func splitComma(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for f := range strings.SplitSeq(s, ",") {
			if f = strings.TrimSpace(f); f != "" && !yield(f) {
				return
			}
		}
	}
}
