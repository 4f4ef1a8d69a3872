// Package synth generates synthetic CESNET-TLS-Year22 data: day files in
// the published layout and format (written with beam/cesnet's encoder), the
// stats-*.json files that count them, and a ground-truth manifest of the
// scripted changes, so every later stage runs the same code on generated
// and on real data.
//
// What the traffic looks like, and where each figure comes from
// (DATASET.md, beside this file):
//
//   - Services: the 200 apps of the DataZoo enum, 180 active; shares follow
//     the long tail of §4 (top apps 2–4 % of a day, tail 1e-5..1e-3) and the
//     September 2022 category mix (catalog_table.go).
//   - Per service: SNI host families with domain rules that determine the
//     app (Rules, LabelBySNI); client software populations with shared JA3s;
//     provider servers with ASNs, RTTs, MSS, certificate sizes; traffic
//     modes (API calls, page loads, bulk, streaming, push, real-time, …)
//     with per-app jitter and typical sizes. Services of one provider share
//     handshakes and servers, services of one category share modes, so the
//     no-SNI task is hard but learnable.
//   - Per flow: a packet-level TCP/TLS simulation for the first 30 payload
//     packets (PPI), then the rest in closed form; counters, flags, end
//     reasons and PHIST histograms consistent with it (flow.go).
//   - Time: hour-of-day profiles per traffic family in Prague time with
//     TIME_FIRST in UTC (a few % of a day file's rows fall on the previous
//     UTC day), weekday ≫ weekend, Czech holidays, the summer dip, the eight
//     missing days of 2022 as zero-byte files (calendar.go).
//   - Scripted changes (Script, written to manifest.json): the week-10
//     exporter update, a week-6 peering change, a new service, a service
//     whose sizes and JA3 mix change, services whose share declines.
//
// Output is deterministic for a seed: each day draws from its own generator
// seeded from (seed, day), so days can be generated in parallel, in any
// order or range, and the same day always has the same bytes.
package synth

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/holidays"
)

// Config configures a generation run.
type Config struct {
	Out         string    // dataset root to write
	Start       time.Time // first day (the date part is used)
	Days        int
	FlowsPerDay int // mean flows per data day over the calendar year
	Seed        int64
	Compress    string // "xz" (default), "gz" or "none"
	XZLevel     int    // xz preset 0–9; 0 is fastest (liblzma ≈ 2× preset 1)
	// GzipLevel is the gzip level 1–9 (0: 6, the default). Level 1 costs
	// 3.2 µs of CPU per row against 5.3 at 6 (BenchmarkDayCompress; the
	// flows themselves 5.2) for files 16 % larger.
	GzipLevel int
	Workers   int // parallel days; 0: GOMAXPROCS

	// Holidays are the low-traffic public holidays; nil: Czech public
	// holidays of every year generated.
	Holidays []time.Time
	// MissingDays get zero-byte flow files; nil: MissingDays2022().
	MissingDays []time.Time
	// Script holds the scripted changes; nil: DefaultScript().
	Script *Script

	Progress io.Writer // progress lines; nil: none
}

// Script is the list of scripted changes, written to the manifest.
type Script struct {
	// ExporterUpdate is the first day of the new exporter: before it,
	// retransmitted packets appear in the PPI (duplicate sizes); from it
	// on they are left out (counters and PHIST still count them).
	ExporterUpdate time.Time
	// PeeringChange is the first day of shorter paths to Microsoft and
	// Akamai (RTT ÷ 1.8).
	PeeringChange time.Time
	// NewService carries no traffic before NewServiceFrom.
	NewService     string
	NewServiceFrom time.Time
	// BehaviourChange is the first day docker-registry answers with 360-byte
	// instead of 628-byte replies and most of its clients are containerd.
	BehaviourChange time.Time
	// Declines are services whose share falls steadily.
	Declines []Decline
	// Drifts are per-app changes of sizes, fingerprints, paths and shares
	// (DefaultDrifts), sudden or adopted gradually.
	Drifts []AppDrift
}

// Decline is a share falling exponentially from StartPct (percent of a day)
// on From to EndPct on To.
type Decline struct {
	App      string
	From, To time.Time
	StartPct float64
	EndPct   float64
}

// DefaultScript returns the changes of DATASET.md §5: the exporter update in
// week 10 (2022-03-07), the peering change in week 6, tinder appearing in
// week 23, docker-registry's change at week 28 (2022-07-11), and the
// declines of facebook-graph (3 % → 0.44 %) and spotify (1.45 % → 0.32 %)
// over 2022.
func DefaultScript() *Script {
	d := func(s string) time.Time { return dates(s)[0] }
	return &Script{
		ExporterUpdate:  d("2022-03-07"),
		PeeringChange:   d("2022-02-07"),
		NewService:      "tinder",
		NewServiceFrom:  d("2022-06-06"),
		BehaviourChange: d("2022-07-11"),
		Declines: []Decline{
			{App: "facebook-graph", From: d("2022-01-01"), To: d("2022-12-31"), StartPct: 3.0, EndPct: 0.44},
			{App: "spotify", From: d("2022-01-01"), To: d("2022-12-31"), StartPct: 1.45, EndPct: 0.32},
		},
		Drifts: DefaultDrifts(),
	}
}

// ErrConfig marks an invalid configuration.
var ErrConfig = errors.New("synth: bad config")

// withDefaults validates c and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Out == "":
		return bad("no output directory")
	case c.Start.IsZero():
		return bad("no start day")
	case c.Days < 1 || c.Days > 3660:
		return bad("days %d not in 1..3660", c.Days)
	case c.FlowsPerDay < 1 || c.FlowsPerDay > 50_000_000:
		return bad("flows per day %d not in 1..50000000", c.FlowsPerDay)
	case c.XZLevel < 0 || c.XZLevel > 9:
		return bad("xz level %d not in 0..9", c.XZLevel)
	case c.GzipLevel < 0 || c.GzipLevel > 9:
		return bad("gzip level %d not in 1..9 (0: default)", c.GzipLevel)
	case c.Workers < 0:
		return bad("workers %d < 0", c.Workers)
	}
	switch c.Compress {
	case "":
		c.Compress = "xz"
	case "xz", "gz", "none":
	default:
		return bad("compress %q: want xz, gz or none", c.Compress)
	}
	c.Start = time.Date(c.Start.Year(), c.Start.Month(), c.Start.Day(), 0, 0, 0, 0, time.UTC)
	if c.Holidays == nil {
		last := c.Start.AddDate(0, 0, c.Days-1)
		for y := c.Start.Year(); y <= last.Year(); y++ {
			c.Holidays = append(c.Holidays, holidays.Czech(y)...)
		}
	}
	if c.MissingDays == nil {
		c.MissingDays = MissingDays2022()
	}
	if c.Script == nil {
		c.Script = DefaultScript()
	}
	w := getWorld()
	if a, ok := w.byName[c.Script.NewService]; c.Script.NewService != "" && (!ok || !a.active) {
		return bad("new service %q is not an active app", c.Script.NewService)
	}
	for _, d := range c.Script.Declines {
		if a, ok := w.byName[d.App]; !ok || !a.active || d.StartPct <= 0 || d.EndPct <= 0 || !d.To.After(d.From) {
			return bad("decline of %q: want an active app, positive shares and From < To", d.App)
		}
	}
	return c, nil
}

// ext returns the flow file extension of a compression.
func ext(compress string) string {
	switch compress {
	case "gz":
		return "csv.gz"
	case "none":
		return "csv"
	}
	return "csv.xz"
}
