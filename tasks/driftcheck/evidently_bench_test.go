package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
)

// evidentlyResult is what evidently/compare.py prints.
type evidentlyResult struct {
	Version       string  `json:"evidently"`
	ReferenceRows int     `json:"reference_rows"`
	CurrentRows   int     `json:"current_rows"`
	LoadSeconds   float64 `json:"load_seconds"`
	ReportSeconds float64 `json:"report_seconds"`
	Features      map[string]struct {
		Method    string  `json:"method"`
		Score     float64 `json:"score"`
		Threshold float64 `json:"threshold"`
		Drifted   bool    `json:"drifted"`
	} `json:"features"`
}

// BenchmarkEvidently compares driftcheck with Evidently's data-drift report
// (DataDriftPreset, its default tests and thresholds) on the same two
// windows: the reference is a champion's training window (2022-03-01..04,
// every row for Evidently, the profile train saves for us), the current
// window one day (2022-03-07, the day of the scripted exporter update that
// shifts SIZE_3), EVIDENTLY_FLOWS flows a day (default 20 000), the same 75
// monitored features (drift.Extract's values, handed to Evidently as
// float32 rows). Reported: the seconds of each (ours: the whole check,
// reading the day from the lake; Evidently: its report on in-memory frames,
// loading not counted) and which features each flags, as an overlap table.
// Needs EVIDENTLY_PYTHON (make bench-evidently creates its venv).
func BenchmarkEvidently(b *testing.B) {
	py := os.Getenv("EVIDENTLY_PYTHON")
	if py == "" {
		b.Fatal("EVIDENTLY_PYTHON is not set: run make bench-evidently, which creates Evidently's venv")
	}
	flows := 20_000
	if v, err := strconv.Atoi(os.Getenv("EVIDENTLY_FLOWS")); err == nil && v > 0 {
		flows = v
	}
	const refFrom, refTo, day = "2022-03-01", "2022-03-04", "2022-03-07"
	ctx := context.Background()
	lake := lakeWithDays(b, refFrom, 7, flows)
	t0 := time.Now()
	ref := referenceOf(b, lake, refFrom, refTo)
	profileS := time.Since(t0).Seconds()
	refDir := b.TempDir()
	if err := drift.SaveReference(ctx, refDir, ref, storage.Options{}); err != nil {
		b.Fatal(err)
	}

	// Both windows' feature rows for Evidently.
	dir := b.TempDir()
	names, _ := json.Marshal(drift.FeatureNames)
	if err := os.WriteFile(filepath.Join(dir, "features.json"), names, 0o644); err != nil {
		b.Fatal(err)
	}
	src, err := classify.OpenLakeSource(ctx, lake, -1, storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	dump := func(name, from, to string) int {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		x := make([]float32, drift.NumFeatures)
		n := 0
		lo, _ := time.Parse(cesnet.DayLayout, from)
		hi, _ := time.Parse(cesnet.DayLayout, to)
		if err := src.Scan(ctx, lo, hi, func(r *tablerow.FlowFeatures) error {
			drift.Extract(r, x)
			n++
			return binary.Write(w, binary.LittleEndian, x)
		}); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		return n
	}
	refRows, curRows := dump("reference.bin", refFrom, refTo), dump("current.bin", day, day)

	b.ResetTimer()
	for range b.N {
		var stdout, stderr bytes.Buffer
		cfg := config{lake: lake, day: day, version: -1, reference: refDir, force: true, th: drift.DefaultThresholds()}
		t0 := time.Now()
		if err := run(ctx, cfg, &stdout, &stderr); err != nil {
			b.Fatalf("%v\n%s", err, stderr.String())
		}
		ourS := time.Since(t0).Seconds()
		var res drift.Result
		if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
			b.Fatal(err)
		}
		psi := map[string]float64{}
		for _, m := range readTable[tablerow.DriftMetric](b, drift.MetricsTable.URI(lake)) {
			if m.RunDate == day && m.Scope == "all" && m.Metric == "psi" {
				psi[m.Feature] = m.Value
			}
		}
		ours := map[string]bool{}
		for _, a := range res.Alerts {
			if a.Kind == drift.KindFeatureShift && slices.Contains(drift.FeatureNames, a.Subject) {
				ours[a.Subject] = true
			}
		}

		cmd := exec.Command(py, "evidently/compare.py", filepath.Join(dir, "features.json"),
			filepath.Join(dir, "reference.bin"), filepath.Join(dir, "current.bin"))
		var perr bytes.Buffer
		cmd.Stderr = &perr
		t1 := time.Now()
		out, err := cmd.Output()
		wall := time.Since(t1).Seconds()
		if err != nil {
			b.Fatalf("evidently: %v\n%s", err, perr.String())
		}
		var ev evidentlyResult
		if err := json.Unmarshal(out, &ev); err != nil {
			b.Fatalf("evidently output %q: %v", out, err)
		}
		if ev.ReferenceRows != refRows || ev.CurrentRows != curRows {
			b.Fatalf("evidently read %d/%d rows, wrote %d/%d", ev.ReferenceRows, ev.CurrentRows, refRows, curRows)
		}

		var both, oursOnly, evOnly []string
		var table strings.Builder
		fmt.Fprintf(&table, "%-22s %8s %6s  %-28s %9s %6s\n", "feature", "our PSI", "ours", "Evidently method", "score", "flags")
		for _, f := range drift.FeatureNames {
			e := ev.Features[f]
			switch {
			case ours[f] && e.Drifted:
				both = append(both, f)
			case ours[f]:
				oursOnly = append(oursOnly, f)
			case e.Drifted:
				evOnly = append(evOnly, f)
			default:
				continue
			}
			fmt.Fprintf(&table, "%-22s %8.4f %6v  %-28s %9.4g %6v\n", f, psi[f], ours[f], e.Method, e.Score, e.Drifted)
		}
		// On stderr: a benchmark's log is cut after ten lines.
		logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
		logf("reference %s..%s: %d flows; current %s: %d flows; %d features", refFrom, refTo, refRows, day, curRows, drift.NumFeatures)
		logf("driftcheck: %.2fs for the check (day read from the lake; profiling the reference, done once by train: %.2fs)", ourS, profileS)
		logf("Evidently %s: %.2fs for the report (frames in memory; %.2fs to import and load, %.2fs wall in all)", ev.Version, ev.ReportSeconds, ev.LoadSeconds, wall)
		logf("flagged by both: %d %v; driftcheck only: %d %v; Evidently only: %d %v\n%s",
			len(both), both, len(oursOnly), oursOnly, len(evOnly), evOnly, table.String())
		// The five features each ranks highest (Evidently: by score over
		// threshold, all its methods here being distances).
		byPSI := slices.Clone(drift.FeatureNames)
		slices.SortFunc(byPSI, func(x, y string) int { return cmp.Compare(psi[y], psi[x]) })
		byEv := slices.Clone(drift.FeatureNames)
		rel := func(f string) float64 { e := ev.Features[f]; return e.Score / math.Max(e.Threshold, 1e-12) }
		slices.SortFunc(byEv, func(x, y string) int { return cmp.Compare(rel(y), rel(x)) })
		var top strings.Builder
		for i := range 5 {
			fmt.Fprintf(&top, "  %d. ours %-18s PSI %.4f | Evidently %-18s %s %.4g (threshold %.2g)\n", i+1,
				byPSI[i], psi[byPSI[i]], byEv[i], ev.Features[byEv[i]].Method, ev.Features[byEv[i]].Score, ev.Features[byEv[i]].Threshold)
		}
		logf("top 5 of each:\n%s", top.String())
		b.ReportMetric(ourS, "ours-s")
		b.ReportMetric(ev.ReportSeconds, "evidently-s")
		b.ReportMetric(ev.ReportSeconds/math.Max(ourS, 1e-9), "evidently/ours")
		b.ReportMetric(float64(len(both)), "flagged-both")
		b.ReportMetric(float64(len(oursOnly)), "ours-only")
		b.ReportMetric(float64(len(evOnly)), "evidently-only")
	}
}
