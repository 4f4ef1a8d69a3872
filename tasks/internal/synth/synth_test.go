package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"

	"github.com/telcotraffic/telcotraffic/tasks/internal/holidays"
)

func day(s string) time.Time { return dates(s)[0] }

func generate(t *testing.T, cfg Config) (string, Result) {
	t.Helper()
	if cfg.Out == "" {
		cfg.Out = t.TempDir()
	}
	res, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return cfg.Out, res
}

// readTree returns every file under root by relative path.
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	requireXZ(t)
	for _, comp := range []string{"none", "gz", "xz"} {
		t.Run(comp, func(t *testing.T) {
			// Sunday before and Monday of the exporter update: two day states.
			base := Config{Start: day("2022-03-06"), Days: 2, FlowsPerDay: 1500, Seed: 7, Compress: comp}
			a := base
			a.Workers = 1
			b := base
			b.Workers = 2
			dirA, resA := generate(t, a)
			dirB, _ := generate(t, b)
			treeA, treeB := readTree(t, dirA), readTree(t, dirB)
			if len(treeA) == 0 || resA.Rows == 0 {
				t.Fatalf("nothing generated: %+v", resA)
			}
			for name, ba := range treeA {
				if !bytes.Equal(ba, treeB[name]) {
					t.Errorf("%s differs between 1 and 2 workers", name)
				}
			}
			if len(treeA) != len(treeB) {
				t.Errorf("%d files vs %d", len(treeA), len(treeB))
			}

			c := base
			c.Seed = 8
			dirC, _ := generate(t, c)
			treeC := readTree(t, dirC)
			name := cesnet.DayFile(day("2022-03-07"), ext(comp))
			if bytes.Equal(treeA[name], treeC[name]) {
				t.Errorf("%s is the same for seeds 7 and 8", name)
			}
		})
	}
}

// A day's bytes do not depend on the range it was generated in.
func TestRangeIndependent(t *testing.T) {
	whole, _ := generate(t, Config{Start: day("2022-05-01"), Days: 3, FlowsPerDay: 800, Seed: 3, Compress: "none"})
	parts := t.TempDir()
	generate(t, Config{Out: parts, Start: day("2022-05-01"), Days: 1, FlowsPerDay: 800, Seed: 3, Compress: "none"})
	generate(t, Config{Out: parts, Start: day("2022-05-02"), Days: 2, FlowsPerDay: 800, Seed: 3, Compress: "none"})
	tw, tp := readTree(t, whole), readTree(t, parts)
	for name, b := range tw {
		if name == ManifestFile {
			continue // records the run's own start and days
		}
		if !bytes.Equal(b, tp[name]) {
			t.Errorf("%s differs when generated in two runs", name)
		}
	}
}

// Every row decodes without rejects, counts equal the stats files, missing
// days are zero-byte files with empty stats.
func TestDecodesAndMatchesStats(t *testing.T) {
	requireXZ(t)
	comp := "xz"
	// 2022-01-27 (Thu) has data, 28–30 are missing days of the dataset, 31
	// starts WEEK-2022-05.
	dir, res := generate(t, Config{Start: day("2022-01-27"), Days: 5, FlowsPerDay: 3000, Seed: 11, Compress: comp})
	if res.Files != 5 || res.EmptyDays != 3 {
		t.Fatalf("files %d empty %d, want 5 and 3", res.Files, res.EmptyDays)
	}
	files, err := cesnet.FindDayFiles(dir, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	total := map[string]int64{}
	var rows int64
	for _, fi := range files {
		got := map[string]int64{}
		c, err := cesnet.DecodeFile(context.Background(), fi.Path, cesnet.XZAuto, func(f *cesnet.Flow) error {
			got[f.App]++
			return nil
		}, func(r *cesnet.Reject) error {
			t.Errorf("reject: %v (%s)", r, r.Raw[:min(200, len(r.Raw))])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		st := readStats(t, fi.StatsPath)
		if st.Global.TotalSaved != c.Good || c.Rejects != 0 {
			t.Errorf("%s: %d good %d rejects, stats %d", fi.Path, c.Good, c.Rejects, st.Global.TotalSaved)
		}
		if diff := cmp.Diff(st.Apps, got); diff != "" {
			t.Errorf("%s: per-app counts differ from stats (-stats +rows):\n%s", fi.Path, diff)
		}
		missing := map[string]bool{"2022-01-28": true, "2022-01-29": true, "2022-01-30": true}[fi.Day.Format(dayLayout)]
		if missing != (fi.Size == 0) || missing != c.Empty {
			t.Errorf("%s: size %d empty %v, missing day %v", fi.Path, fi.Size, c.Empty, missing)
		}
		for a, n := range got {
			total[a] += n
		}
		rows += c.Good
	}
	if rows != res.Rows {
		t.Errorf("decoded %d rows, result says %d", rows, res.Rows)
	}
	ds := readStats(t, filepath.Join(dir, DatasetStatsFile))
	if diff := cmp.Diff(total, ds.Apps); diff != "" || ds.Global.TotalSaved != rows {
		t.Errorf("stats-dataset.json (total %d, rows %d) differs:\n%s", ds.Global.TotalSaved, rows, diff)
	}
	w4 := readStats(t, filepath.Join(dir, "WEEK-2022-04", "stats-week.json"))
	w5 := readStats(t, filepath.Join(dir, "WEEK-2022-05", "stats-week.json"))
	if w4.Global.TotalSaved+w5.Global.TotalSaved != rows || w4.Global.TotalSaved == 0 || w5.Global.TotalSaved == 0 {
		t.Errorf("week stats %d + %d, want %d, both non-zero", w4.Global.TotalSaved, w5.Global.TotalSaved, rows)
	}
	if len(readStats(t, filepath.Join(dir, "WEEK-2022-04", "2022-01-29", "stats-20220129.json")).Apps) != 0 {
		t.Error("missing day has app counts")
	}
	if n, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.tmp")); len(n) > 0 {
		t.Errorf("temporary files left: %v", n)
	}
}

// requireXZ fails when the xz program (liblzma, Debian xz-utils) is
// missing: the real dataset's format is xz and CI installs it.
func requireXZ(t *testing.T) {
	t.Helper()
	if _, err := lookXZ(); err != nil {
		t.Fatalf("xz not on PATH (install xz-utils; .ci/setup does): %v", err)
	}
}

func readStats(t *testing.T, path string) cesnet.Stats {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := cesnet.ReadStats(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flowsOf generates n flows of one day in memory, in file order.
func flowsOf(t testing.TB, d time.Time, k int, fn func(*cesnet.Flow)) {
	t.Helper()
	cfg, err := Config{Out: "x", Start: d, Days: 1, FlowsPerDay: k, Seed: 5}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	w := getWorld()
	g := newFlowGen(w)
	g.r = daySeed(cfg.Seed, d)
	evs, _ := planDay(cfg, newCalendar(cfg.Holidays, cfg.MissingDays), g.r, d, nil)
	ds := dayStateOf(cfg.Script, d)
	for i, e := range evs {
		fn(g.flow(w.apps[e.app], ds, int64(i+1), e.t))
	}
}

func TestFlowInvariants(t *testing.T) {
	for _, d := range []string{"2022-02-01", "2022-09-14"} { // old and new exporter
		t.Run(d, func(t *testing.T) {
			n, bad := 0, 0
			flowsOf(t, day(d), 20000, func(f *cesnet.Flow) {
				n++
				if err := checkFlow(f); err != "" {
					if bad++; bad <= 10 {
						t.Errorf("flow %d (%s): %s", f.ID, f.App, err)
					}
				}
			})
			if n < 10000 || bad > 0 {
				t.Fatalf("%d flows, %d bad", n, bad)
			}
		})
	}
}

// checkFlow returns what is wrong with a generated flow, or "".
func checkFlow(f *cesnet.Flow) string {
	n := int(f.PPILen)
	switch {
	case n < 2 || n > cesnet.PPIMaxLen || len(f.PPIIPT) != n || len(f.PPIDir) != n || len(f.PPISize) != n || len(f.PPIPush) != n:
		return "PPI lengths"
	case f.DstPort != 443 || f.Protocol != 6:
		return "port/protocol"
	case len(f.TLSJA3) != 32 || strings.Trim(f.TLSJA3, "0123456789abcdef") != "":
		return "JA3 " + f.TLSJA3
	case f.PPIDir[0] != 1 || f.PPIIPT[0] != 0 || f.PPISize[0] < 150 || f.PPISize[0] > 800:
		return "first packet is not a ClientHello"
	}
	if app, _ := LabelBySNI(f.TLSSNI); app != f.App {
		return "SNI " + f.TLSSNI + " labels as " + app
	}
	var cnt, pay [2]int64
	var ipt int64
	var push [2]bool
	var rt int32
	for i := range n {
		d := 0
		if f.PPIDir[i] == -1 {
			d = 1
		}
		cnt[d]++
		pay[d] += int64(f.PPISize[i])
		ipt += int64(f.PPIIPT[i])
		push[d] = push[d] || f.PPIPush[i] == 1
		if i+1 < n && f.PPIDir[i] == 1 && f.PPIDir[i+1] == -1 {
			rt++
		}
		if f.PPISize[i] <= 0 || f.PPISize[i] > 1460 {
			return "PPI size out of range"
		}
	}
	sum := func(h []int32) (s int64) {
		for _, v := range h {
			s += int64(v)
		}
		return s
	}
	sizesC, sizesS := sum(f.PHistSrcSizes), sum(f.PHistDstSizes)
	hdr := int64(40)
	switch {
	case f.Packets < cnt[0]+2 || f.PacketsRev < cnt[1]+1:
		return "PACKETS below the PPI packets plus SYNs"
	case f.Bytes < pay[0]+f.Packets*hdr || f.BytesRev < pay[1]+f.PacketsRev*hdr:
		return "BYTES below payload plus headers"
	case sizesC < cnt[0] || sizesS < cnt[1] || sizesC > f.Packets || sizesS > f.PacketsRev:
		return "PHIST sizes not between PPI and PACKETS"
	case sum(f.PHistSrcIPT) != sizesC-1 || sum(f.PHistDstIPT) != sizesS-1:
		return "PHIST ipt counts are not size counts - 1"
	case f.PPIRoundtrips != rt:
		return "PPI_ROUNDTRIPS"
	case math.Abs(f.PPIDuration-float64(ipt)/1000) > 1e-9:
		return "PPI_DURATION is not the sum of IPT"
	case f.Duration < f.PPIDuration:
		return "DURATION < PPI_DURATION"
	case f.TimeLast.Sub(f.TimeFirst) != time.Duration(math.Round(f.Duration*1e6))*time.Microsecond:
		return "TIME_LAST - TIME_FIRST != DURATION"
	case (push[0] && !f.FlagPSH) || (push[1] && !f.FlagPSHRev) || !f.FlagSYN || !f.FlagSYNRev || !f.FlagACK:
		return "flags"
	case b2i(f.EndReasonIdle)+b2i(f.EndReasonActive)+b2i(f.EndReasonEnd)+b2i(f.EndReasonOther) != 1:
		return "end reasons not one-hot"
	case f.EndReasonActive && f.Duration < 230:
		return "active end before the timeout"
	case !f.EndReasonActive && f.Duration > 301:
		return "flow longer than the active timeout"
	case f.EndReasonEnd != (f.FlagFIN || f.FlagRST):
		return "FIN/RST without an end (or the reverse)"
	}
	return ""
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Before the exporter update every payload packet of a short flow is in
// its PPI; after it retransmissions are left out (PHIST still counts them).
func TestExporterUpdate(t *testing.T) {
	count := func(d string) (flows, gaps int) {
		flowsOf(t, day(d), 20000, func(f *cesnet.Flow) {
			if f.PPILen == cesnet.PPIMaxLen {
				return
			}
			flows++
			var c [2]int64
			for _, x := range f.PPIDir {
				c[(1-x)/2]++
			}
			var h [2]int64
			for i := range cesnet.PHistBins {
				h[0] += int64(f.PHistSrcSizes[i])
				h[1] += int64(f.PHistDstSizes[i])
			}
			if h != c {
				gaps++
			}
		})
		return flows, gaps
	}
	oldFlows, oldGaps := count("2022-03-04")
	newFlows, newGaps := count("2022-03-08")
	if oldFlows < 5000 || newFlows < 5000 {
		t.Fatalf("too few short flows: %d, %d", oldFlows, newFlows)
	}
	if oldGaps != 0 {
		t.Errorf("old exporter: %d of %d short flows have packets missing from the PPI", oldGaps, oldFlows)
	}
	// Losses and the spurious retransmission of the server's handshake
	// flight in a quarter of the flows (spuriousShare): the update is a
	// step change of the packet sequences, as in the dataset.
	if frac := float64(newGaps) / float64(newFlows); frac < 0.15 || frac > 0.4 {
		t.Errorf("new exporter: %.4f of short flows leave retransmissions out, want 15–40 %%", frac)
	}
}

func TestCalendar(t *testing.T) {
	cal := newCalendar(holidays.Czech(2022), MissingDays2022())
	const k = 10000
	var sum, n float64
	var work, off [2]float64
	month := map[time.Month][2]float64{}
	for d := day("2022-01-01"); d.Year() == 2022; d = d.AddDate(0, 0, 1) {
		v := cal.volume(d, k)
		if cal.isMissing(d) {
			if v != 0 {
				t.Errorf("%s is missing but has volume %v", d.Format(dayLayout), v)
			}
			continue
		}
		sum += v
		n++
		if cal.isOff(d) {
			off[0] += v
			off[1]++
		} else {
			work[0] += v
			work[1]++
		}
		m := month[d.Month()]
		month[d.Month()] = [2]float64{m[0] + v, m[1] + 1}
	}
	if n != 357 || math.Abs(sum/n-k) > 1e-6 {
		t.Errorf("%v data days with mean %v, want 357 and %d", n, sum/n, k)
	}
	ratio := (off[0] / off[1]) / (work[0] / work[1])
	if ratio < 0.28 || ratio > 0.37 {
		t.Errorf("day off / working day = %.3f, want ≈ 0.30–0.35", ratio)
	}
	mean := func(m time.Month) float64 { return month[m][0] / month[m][1] }
	for _, m := range []time.Month{time.July, time.August} {
		if r := mean(m) / mean(time.June); r < 0.55 || r > 0.75 {
			t.Errorf("%v / June = %.3f, want ≈ 0.65", m, r)
		}
	}
	if v, w := cal.volume(day("2022-07-05"), k), cal.volume(day("2022-07-12"), k); v > 0.5*w {
		t.Errorf("holiday Tue 2022-07-05 %.0f vs Tue 2022-07-12 %.0f", v, w)
	}
	// Prague time: CET in January, CEST in July, switching on the last
	// Sundays of March and October at 01:00 UTC.
	for _, c := range []struct {
		utc  string
		want int64
	}{{"2022-01-15T12:00:00Z", 3600}, {"2022-07-15T12:00:00Z", 7200}, {"2022-03-27T00:59:59Z", 3600},
		{"2022-03-27T01:00:00Z", 7200}, {"2022-10-30T00:59:59Z", 7200}, {"2022-10-30T01:00:00Z", 3600}} {
		u, _ := time.Parse(time.RFC3339, c.utc)
		if got := pragueOffset(u.Unix()); got != c.want {
			t.Errorf("offset at %s = %d, want %d", c.utc, got, c.want)
		}
	}
}

// Generated days show the weekly cycle, the summer dip, the hour profile
// and the UTC/local-day split.
func TestGeneratedSeasonality(t *testing.T) {
	dir, _ := generate(t, Config{Start: day("2022-06-06"), Days: 56, FlowsPerDay: 600, Seed: 2, Compress: "none"})
	p, err := Describe(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.OffRatio < 0.26 || p.OffRatio > 0.40 {
		t.Errorf("day-off / working-day ratio %.3f, want ≈ 0.30–0.35", p.OffRatio)
	}
	if r := p.MonthMean["2022-07"] / p.MonthMean["2022-06"]; r < 0.5 || r > 0.8 {
		t.Errorf("July / June %.3f, want ≈ 0.65", r)
	}
	if p.PrevUTCDay < 0.01 || p.PrevUTCDay > 0.08 {
		t.Errorf("%.3f of rows on the previous UTC day, want a few %%", p.PrevUTCDay)
	}
	peak, trough := 0, 0
	for h := range p.Hour {
		if p.Hour[h] > p.Hour[peak] {
			peak = h
		}
		if p.Hour[h] < p.Hour[trough] {
			trough = h
		}
	}
	if peak < 9 || peak > 16 || trough < 2 || trough > 5 || p.Hour[peak] < 4*p.Hour[trough] {
		t.Errorf("hour profile: peak %d:00 %.3f, trough %d:00 %.3f", peak, p.Hour[peak], trough, p.Hour[trough])
	}
	if p.PPILenMedian < 8 || p.PPILenMedian > 14 || p.PPILen30 < 0.12 || p.PPILen30 > 0.3 {
		t.Errorf("PPI_LEN median %d, share of 30 %.3f; real: 11 and 0.20", p.PPILenMedian, p.PPILen30)
	}
}

// planMonth sums the per-app plans of 28 days.
func planMonth(t *testing.T, start time.Time, k int) ([]int64, int64) {
	cfg, err := Config{Out: "x", Start: start, Days: 28, FlowsPerDay: k, Seed: 9}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cal := newCalendar(cfg.Holidays, cfg.MissingDays)
	total := make([]int64, len(getWorld().apps))
	var all int64
	var evs []event
	for i := range 28 {
		d := start.AddDate(0, 0, i)
		var counts []int64
		evs, counts = planDay(cfg, cal, daySeed(cfg.Seed, d), d, evs)
		for a, c := range counts {
			total[a] += c
			all += c
		}
	}
	return total, all
}

func TestLongTail(t *testing.T) {
	counts, all := planMonth(t, day("2022-09-05"), 20000)
	w := getWorld()
	var active, tail int
	var top float64
	cats := map[string]float64{}
	for i, c := range counts {
		s := float64(c) / float64(all)
		if c > 0 {
			active++
		}
		if c > 0 && s < 1e-3 {
			tail++
		}
		top = math.Max(top, s)
		cats[w.apps[i].category] += s
	}
	if active < 175 || active > 180 {
		t.Errorf("%d active apps, want ~180", active)
	}
	if top < 0.03 || top > 0.07 {
		t.Errorf("top app share %.4f, want 3–7 %%", top)
	}
	if tail < 40 {
		t.Errorf("%d apps below 1e-3, want a long tail (≥ 40)", tail)
	}
	for c, want := range categoryTarget {
		if got := 100 * cats[c]; math.Abs(got-want) > 0.35*want+0.05 {
			t.Errorf("category %s: %.2f %%, September 2022: %.2f %%", c, got, want)
		}
	}
	for _, a := range w.apps {
		if !a.active && counts[a.index] != 0 {
			t.Errorf("absent app %s has %d flows", a.name, counts[a.index])
		}
	}
}

// Rules label every host of every app, and the generated SNIs ≥ 99 % of
// rows, while the registered domain alone is ambiguous (shared domains).
func TestSNIRules(t *testing.T) {
	w := getWorld()
	for _, a := range w.apps {
		for _, h := range a.hosts {
			if got, ok := LabelBySNI(h); a.active && (!ok || got != a.name) {
				t.Errorf("host %s of %s labels as %q", h, a.name, got)
			}
		}
	}
	if _, ok := LabelBySNI("www.example.org"); ok {
		t.Error("unknown host labelled")
	}
	if got, ok := LabelBySNI("rr4---sn-2gb7sn7k.googlevideo.com"); !ok || got != "youtube" {
		t.Errorf("numbered host labels as %q", got)
	}
	var rows, ok int
	domApps := map[string]map[string]bool{}
	ja3Apps := map[string]map[string]bool{}
	flowsOf(t, day("2022-10-04"), 20000, func(f *cesnet.Flow) {
		rows++
		if app, _ := LabelBySNI(f.TLSSNI); app == f.App {
			ok++
		}
		for m, k := range map[*map[string]map[string]bool]string{&domApps: registered(f.TLSSNI), &ja3Apps: f.TLSJA3} {
			if (*m)[k] == nil {
				(*m)[k] = map[string]bool{}
			}
			(*m)[k][f.App] = true
		}
	})
	if float64(ok) < 0.99*float64(rows) {
		t.Errorf("SNI rules label %d of %d rows correctly, want ≥ 99 %%", ok, rows)
	}
	shared := 0
	for _, apps := range domApps {
		if len(apps) > 1 {
			shared++
		}
	}
	if shared < 8 {
		t.Errorf("%d registered domains carry several apps, want shared provider domains", shared)
	}
	maxApps := 0
	for _, apps := range ja3Apps {
		maxApps = max(maxApps, len(apps))
	}
	if len(ja3Apps) < 30 || len(ja3Apps) > 200 || maxApps < 50 {
		t.Errorf("%d JA3s, the most common in %d apps; want a few dozen shared across apps", len(ja3Apps), maxApps)
	}
}

func TestManifestAndScriptedChanges(t *testing.T) {
	// Fri 2022-07-08 (week 27) … Mon 2022-07-11 (week 28, docker change).
	dir, _ := generate(t, Config{Start: day("2022-07-08"), Days: 4, FlowsPerDay: 12000, Seed: 4, Compress: "none"})
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]Event{}
	for _, e := range m.Events {
		kinds[e.Kind+":"+e.App] = e
	}
	want := []string{"exporter_update:", "peering_change:", "new_service:tinder", "behaviour_change:docker-registry",
		"share_decline:facebook-graph", "share_decline:spotify"}
	for _, k := range want {
		if _, ok := kinds[k]; !ok {
			t.Errorf("manifest lacks %s", k)
		}
	}
	dc := kinds["behaviour_change:docker-registry"]
	if dc.Week != "2022-W28" || dc.From != "2022-07-11" || !dc.InRange {
		t.Errorf("docker change event %+v", dc)
	}
	if e := kinds["exporter_update:"]; e.Week != "2022-W10" || e.InRange {
		t.Errorf("exporter event %+v", e)
	}
	if m.ActiveApps != 180 || len(m.AbsentApps) != 20 || len(m.MissingDays) != 8 {
		t.Errorf("manifest: %d active, %d absent, %d missing days", m.ActiveApps, len(m.AbsentApps), len(m.MissingDays))
	}

	// docker-registry's server replies and JA3s, day by day.
	sizes := map[string][2]int{}
	ja3 := map[string]map[string]bool{}
	files, _ := cesnet.FindDayFiles(dir, time.Time{}, time.Time{})
	for _, fi := range files {
		d := fi.Day.Format(dayLayout)
		ja3[d] = map[string]bool{}
		_, err := cesnet.DecodeFile(context.Background(), fi.Path, cesnet.XZAuto, func(f *cesnet.Flow) error {
			if f.App != "docker-registry" {
				return nil
			}
			ja3[d][f.TLSJA3] = true
			s := sizes[d]
			for i, x := range f.PPISize {
				if f.PPIDir[i] == -1 && x == dockerSizeBefore {
					s[0]++
				}
				if f.PPIDir[i] == -1 && x == dockerSizeAfter {
					s[1]++
				}
			}
			sizes[d] = s
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := sizes["2022-07-08"]; s[0] < 3 || s[1] > 1 {
		t.Errorf("week 27: %d replies of 628 B, %d of 360 B", s[0], s[1])
	}
	if s := sizes["2022-07-11"]; s[1] < 3 || s[0] > 1 {
		t.Errorf("week 28: %d replies of 628 B, %d of 360 B", s[0], s[1])
	}
	containerd := ja3Hash("containerd-1.6")
	if ja3["2022-07-08"][containerd] || !ja3["2022-07-11"][containerd] {
		t.Errorf("containerd JA3 before %v, after %v", ja3["2022-07-08"][containerd], ja3["2022-07-11"][containerd])
	}

	// New service and declines, from the day plans.
	w := getWorld()
	tinder := w.byName["tinder"].index
	before, _ := planMonth(t, day("2022-05-09"), 4000)
	after, _ := planMonth(t, day("2022-06-06"), 4000)
	if before[tinder] != 0 || after[tinder] < 100 {
		t.Errorf("tinder: %d flows in the 4 weeks before 2022-06-06, %d after", before[tinder], after[tinder])
	}
	jan, janAll := planMonth(t, day("2022-01-03"), 4000)
	nov, novAll := planMonth(t, day("2022-11-07"), 4000)
	for _, a := range []string{"facebook-graph", "spotify"} {
		i := w.byName[a].index
		sj, sn := float64(jan[i])/float64(janAll), float64(nov[i])/float64(novAll)
		if sn > 0.45*sj {
			t.Errorf("%s share %.4f in January, %.4f in November: want a steady decline", a, sj, sn)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Config{Out: "x", Start: day("2022-01-01"), Days: 1, FlowsPerDay: 10}
	for name, mut := range map[string]func(*Config){
		"no out":      func(c *Config) { c.Out = "" },
		"no start":    func(c *Config) { c.Start = time.Time{} },
		"zero days":   func(c *Config) { c.Days = 0 },
		"zero flows":  func(c *Config) { c.FlowsPerDay = 0 },
		"compression": func(c *Config) { c.Compress = "zstd" },
		"xz level":    func(c *Config) { c.XZLevel = 10 },
		"gzip level":  func(c *Config) { c.GzipLevel = 10 },
		"new service": func(c *Config) { c.Script = DefaultScript(); c.Script.NewService = "apple-siri" },
	} {
		c := ok
		mut(&c)
		if _, err := Generate(context.Background(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := Generate(ctx, Config{Out: dir, Start: day("2022-04-04"), Days: 3, FlowsPerDay: 50000, Compress: "none"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.tmp")); len(n) > 0 {
		t.Errorf("temporary files left: %v", n)
	}
}

// Re-generating a day with another compression replaces its file.
func TestRegenerateOtherCompression(t *testing.T) {
	dir := t.TempDir()
	generate(t, Config{Out: dir, Start: day("2022-04-05"), Days: 1, FlowsPerDay: 300, Compress: "none"})
	generate(t, Config{Out: dir, Start: day("2022-04-05"), Days: 1, FlowsPerDay: 300, Compress: "gz"})
	files, err := cesnet.FindDayFiles(dir, time.Time{}, time.Time{})
	if err != nil || len(files) != 1 || !strings.HasSuffix(files[0].Path, ".csv.gz") {
		t.Errorf("files %v, err %v: want the one .csv.gz", files, err)
	}
}

// Without the xz program the pure-Go encoder writes a valid .xz file.
func TestXZFallback(t *testing.T) {
	defer func(p string) { xzProgram = p }(xzProgram)
	xzProgram = "no-such-xz-program"
	dir, res := generate(t, Config{Start: day("2022-04-06"), Days: 1, FlowsPerDay: 400, Compress: "xz"})
	files, err := cesnet.FindDayFiles(dir, time.Time{}, time.Time{})
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v, err %v", files, err)
	}
	c, err := cesnet.DecodeFile(context.Background(), files[0].Path, cesnet.XZGo, nil, nil)
	if err != nil || c.Good != res.Rows || c.Rejects != 0 || res.Rows == 0 {
		t.Errorf("decoded %+v, err %v, generated %d", c, err, res.Rows)
	}
}
