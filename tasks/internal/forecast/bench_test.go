package forecast

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// BenchmarkPeerComparison backtests our models and statsforecast's
// SeasonalNaive and MSTL on the same realistic series (the project's
// generator, 84 days from 2022-01-01, 20 000 flows a day) and the same
// origins, and prints both tables with fit+predict time: MASE, coverage,
// strict peak capture and peak-event recall and precision, all scored by
// the same Score. ns/op is one backtest of our three models.
//
// Environment (all optional except TELCO_PYTHON):
//
//	TELCO_FC_RAW          an existing raw dataset root instead of generating one
//	TELCO_FC_WEEKS        backtest weeks (default 1: MSTL is slow)
//	TELCO_FC_RETRAIN      refit every N days (default 7)
//	TELCO_FC_PEER_GROUPS  series groups given to the peer (default "total,category"; "all")
//	TELCO_FC_PEER_MODELS  peer models (default SeasonalNaive24,SeasonalNaive168,MSTL,MSTL_log)
func BenchmarkPeerComparison(b *testing.B) {
	py := peerPython(b)
	ctx := context.Background()
	cal := testCalendar(b)
	raw := os.Getenv("TELCO_FC_RAW")
	if raw == "" {
		raw = filepath.Join(b.TempDir(), "raw")
		_, err := synth.Generate(ctx, synth.Config{
			Out: raw, Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), Days: 84,
			FlowsPerDay: 20000, Seed: 1, Compress: "gz", Workers: 2,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	rows, err := RawSource{Root: raw}.TrafficHourly(ctx)
	if err != nil {
		b.Fatal(err)
	}
	full, err := BuildPanel(rows, PanelOptions{})
	if err != nil {
		b.Fatal(err)
	}
	weeks, retrain := envOr(b, "TELCO_FC_WEEKS", 1), envOr(b, "TELCO_FC_RETRAIN", 7)
	groups := strings.Split(cmpOr(os.Getenv("TELCO_FC_PEER_GROUPS"), "total,category"), ",")
	// The comparison uses the series the peer gets; our models pool over
	// them too, so both sides see the same data.
	p := &Panel{Start: full.Start, Hours: full.Hours}
	for _, s := range full.Series {
		if slices.Contains(groups, "all") || slices.Contains(groups, s.Group()) {
			p.Series = append(p.Series, s)
		}
	}
	origins := BacktestOrigins(p, cal, weeks)

	var rep *BacktestReport
	for b.Loop() {
		models := Models(Config{Threads: 1, Refit: true}) // the task's defaults
		rep, err = Backtest(ctx, p, cal, models, BacktestConfig{Weeks: weeks, RetrainDays: retrain, KeepBands: true})
		closeModels(models)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()

	dir := b.TempDir()
	pm := strings.Split(cmpOr(os.Getenv("TELCO_FC_PEER_MODELS"), strings.Join(peerModels, ",")), ",")
	if err := writePeerInput(dir, p, origins, pm); err != nil {
		b.Fatal(err)
	}
	peer, err := runPeer(ctx, py, dir, p, origins, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	all := append(rep.Models, peer.reports(p, origins)...)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "\n%d series (%s) × %d origins (%s … %s), refit every %d days; statsforecast %s\n",
		len(p.Series), strings.Join(groups, ","), len(origins), p.Time(origins[0]).Format(time.DateOnly),
		p.Time(origins[len(origins)-1]).Format(time.DateOnly), retrain, peer.version)
	WriteComparison(&buf, all...)
	buf.WriteString("\n")
	writeEventCurve(&buf, p, origins, all, peer)
	writeEventCeiling(&buf, p, cal, origins)
	buf.WriteString("\n")
	WriteSeriesTable(&buf, all...)
	fmt.Fprint(os.Stdout, buf.String())
	if out := os.Getenv("TELCO_FC_TABLE"); out != "" {
		os.WriteFile(out, buf.Bytes(), 0o644)
	}
	ours := rep.Model("xgb").Groups["all"]
	b.ReportMetric(ours.MASE, "mase")
	b.ReportMetric(ours.Coverage80, "cover80_%")
	b.ReportMetric(ours.PeakCapture, "peak_%")
	b.ReportMetric(ours.PeakEventRecall, "event_recall_%")
	b.ReportMetric(ours.PeakEventPrecision, "event_prec_%")
	if m, ok := peer.bands["MSTL"]; ok {
		mstl := Score(p, origins, m, "MSTL").Groups["all"]
		b.ReportMetric(mstl.MASE, "mstl_mase")
		b.ReportMetric(mstl.PeakCapture, "mstl_peak_%")
		b.ReportMetric(mstl.PeakEventRecall, "mstl_event_recall_%")
		b.ReportMetric(mstl.PeakEventPrecision, "mstl_event_prec_%")
		b.ReportMetric(peer.seconds["MSTL"], "mstl_s")
	}
}

func envOr(tb testing.TB, k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", k, v)
	}
	return n
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// BenchmarkXGBoostFit times one fit of the main model on a synthetic panel
// of four series and eight weeks.
func BenchmarkXGBoostFit(b *testing.B) {
	cal := testCalendar(b)
	p := synthPanel(b, cal, synthSpec{start: "2022-01-03", days: 63, series: 4, sigma: 0.1, offFactor: 0.4, seed: 1})
	m := DefaultXGBoost(1)
	defer m.Close()
	for b.Loop() {
		if err := m.Fit(context.Background(), p, cal); err != nil {
			b.Fatal(err)
		}
	}
}

// writeEventCurve prints, per group and model, the best peak-event
// precision reachable at a recall of at least 90 % when the flag is
// k·upper_80 ≥ threshold for k on a grid from 0.5 to 3: how far any
// rescaling of the intervals could take the capacity planner's score.
func writeEventCurve(w io.Writer, p *Panel, origins []int, reports []ModelReport, peer *peerResult) {
	bands := map[string][][]Band{}
	var names []string
	for _, r := range reports {
		if r.Bands != nil {
			bands[r.Model], names = r.Bands, append(names, r.Model)
		}
	}
	for _, m := range peerModels {
		if b, ok := peer.bands[m]; ok {
			bands["sf:"+m], names = b, append(names, "sf:"+m)
		}
	}
	fmt.Fprintln(w, "best peak-event precision at recall ≥ 90 % over k·upper_80 ≥ threshold, k ∈ [0.5, 3]:")
	for _, g := range []string{"total", "category"} {
		for _, name := range names {
			best, bestK, bestR := math.NaN(), math.NaN(), math.NaN()
			for k := 0.5; k <= 3.0001; k += 0.05 {
				var sc Scorer
				for s := range p.Series {
					if p.Series[s].Group() != g {
						continue
					}
					for j, o := range origins {
						b := bands[name][j][s]
						if b.Upper[0] == nil {
							continue
						}
						up := make([]float64, Horizon)
						actual := make([]float64, Horizon)
						for h := range Horizon {
							up[h] = k * b.Upper[0][h]
							actual[h] = p.Series[s].Values[o+h]
						}
						sc.AddPeakEvents(actual, up, PeakThreshold(p.Series[s].Values, o))
					}
				}
				m := sc.Metrics()
				if m.PeakEventRecall >= 90 && (math.IsNaN(best) || m.PeakEventPrecision > best) {
					best, bestK, bestR = m.PeakEventPrecision, k, m.PeakEventRecall
				}
			}
			fmt.Fprintf(w, "  %-9s %-20s precision %s %% (recall %s %%, k %.2f)\n", g, name, fmtNum(best, 1), fmtNum(bestR, 1), bestK)
		}
	}
}

// writeEventCeiling prints the peak-event precision at recall ≥ 90 % of two
// oracles that read the future, so no forecast made at the origin can beat
// them: "profile" flags by the mean of the same local hour over all days of
// the same kind (working days by weekday, days off together) of the whole
// panel, "profile×day" scales that profile to the actual volume of the day.
// Hours are ranked by oracle / threshold, pooled over the group's series.
func writeEventCeiling(w io.Writer, p *Panel, cal *Calendar, origins []int) {
	type key struct {
		off      bool
		wd, hour int8
	}
	type item struct {
		r     float64
		event bool
	}
	g := newCalGrid(cal, p.Start, 0, p.Hours)
	keyOf := func(i int) key {
		c := g.at(i)
		if c.off {
			return key{off: true, hour: c.hour}
		}
		return key{wd: c.weekday, hour: c.hour}
	}
	fmt.Fprintln(w, "oracle ceiling (reads the future): peak-event precision at recall ≥ 90 %:")
	for _, grp := range []string{"total", "category"} {
		var prof, day []item
		for s := range p.Series {
			if p.Series[s].Group() != grp {
				continue
			}
			v := p.Series[s].Values
			sum, n := map[key]float64{}, map[key]int{}
			for i, x := range v {
				if !math.IsNaN(x) {
					sum[keyOf(i)] += x
					n[keyOf(i)]++
				}
			}
			m := func(i int) float64 { return sum[keyOf(i)] / float64(n[keyOf(i)]) }
			for _, o := range origins {
				thr := PeakThreshold(v, o)
				var actual, expected float64
				for h := range Horizon {
					if !math.IsNaN(v[o+h]) {
						actual += v[o+h]
						expected += m(o + h)
					}
				}
				for h := range Horizon {
					if y := v[o+h]; !math.IsNaN(y) && !math.IsNaN(thr) {
						prof = append(prof, item{m(o+h) / thr, y > thr})
						day = append(day, item{m(o+h) * actual / expected / thr, y > thr})
					}
				}
			}
		}
		for _, c := range []struct {
			name  string
			items []item
		}{{"profile", prof}, {"profile×day", day}} {
			slices.SortFunc(c.items, func(a, b item) int { return cmp.Compare(b.r, a.r) })
			events := 0
			for _, x := range c.items {
				events += b2i(x.event)
			}
			caught, prec := 0, math.NaN()
			for k, x := range c.items {
				caught += b2i(x.event)
				if events > 0 && float64(caught) >= 0.9*float64(events) {
					prec = 100 * float64(caught) / float64(k+1)
					break
				}
			}
			fmt.Fprintf(w, "  %-9s %-20s precision %s %% (%d events)\n", grp, c.name, fmtNum(prec, 1), events)
		}
	}
}
