package forecast

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// RawSource aggregates the flow files of a raw dataset root (the layout of
// package cesnet) into traffic_hourly rows, as the Beam aggregate job does,
// so the task runs on a generated dataset before the lake exists.
type RawSource struct {
	Root     string
	From, To time.Time     // day bounds, inclusive; zero: no bound
	XZ       cesnet.XZMode // how .xz files are decompressed
	Progress io.Writer     // one line per day file; nil: quiet
}

// TrafficHourly decodes every day file and aggregates it.
func (r RawSource) TrafficHourly(ctx context.Context) ([]tablerow.TrafficHourly, error) {
	files, err := cesnet.FindDayFiles(r.Root, r.From, r.To)
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("forecast: no flow files under %s", r.Root)
	}
	agg := NewAggregator()
	t0 := time.Now()
	var flows int64
	for _, f := range files {
		c, err := cesnet.DecodeFile(ctx, f.Path, r.XZ, func(fl *cesnet.Flow) error {
			agg.Add(fl)
			return nil
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("forecast: %w", err)
		}
		flows += c.Good
		if r.Progress != nil {
			note := ""
			if c.Empty {
				note = " (empty: a gap)"
			}
			fmt.Fprintf(r.Progress, "forecast: read %s: %d flows, %d rejects%s\n", f.Day.Format(time.DateOnly), c.Good, c.Rejects, note)
		}
	}
	rows := agg.Rows()
	if r.Progress != nil {
		s := time.Since(t0).Seconds()
		fmt.Fprintf(r.Progress, "forecast: aggregated %d flows from %d files into %d hourly rows in %.1fs (%.0f flows/s)\n",
			flows, len(files), len(rows), s, float64(flows)/max(s, 1e-9))
	}
	return rows, nil
}

// Aggregator sums flows into traffic_hourly rows keyed as the aggregate
// job keys them (tablerow.HourlyKey): one row per week of the flow's day
// file, UTC hour of TIME_FIRST, app and category.
type Aggregator struct {
	m map[aggKey]*tablerow.TrafficHourly
}

type aggKey struct {
	week          string
	hour          int64
	app, category string
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator { return &Aggregator{m: map[aggKey]*tablerow.TrafficHourly{}} }

// Add counts one flow.
func (a *Aggregator) Add(f *cesnet.Flow) {
	h, week := tablerow.HourlyKey(f.TimeFirst, f.Week)
	k := aggKey{week, h.Unix(), f.App, f.Category}
	r, ok := a.m[k]
	if !ok {
		r = &tablerow.TrafficHourly{Hour: h, App: f.App, Category: f.Category, Week: week}
		a.m[k] = r
	}
	r.Flows++
	r.Bytes += f.Bytes
	r.BytesRev += f.BytesRev
	r.Packets += f.Packets
	r.PacketsRev += f.PacketsRev
}

// Rows returns the rows sorted by hour, app and category.
func (a *Aggregator) Rows() []tablerow.TrafficHourly {
	out := make([]tablerow.TrafficHourly, 0, len(a.m))
	for _, r := range a.m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(x, y tablerow.TrafficHourly) int {
		if c := x.Hour.Compare(y.Hour); c != 0 {
			return c
		}
		if c := strings.Compare(x.App, y.App); c != 0 {
			return c
		}
		return strings.Compare(x.Category, y.Category)
	})
	return out
}
