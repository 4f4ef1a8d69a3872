package drift_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// TestReadDayMatchesRows checks that ReadDay (only the check's columns,
// decoded column by column, row groups spread over workers) counts exactly
// what Day.AddFlow counts over the full rows of lakehouse.Rows: a table of
// three days in one week file of many row groups and pages, the middle day
// read, with one worker and with three.
func TestReadDayMatchesRows(t *testing.T) {
	ctx := context.Background()
	raw := t.TempDir()
	if _, err := synth.Generate(ctx, synth.Config{Out: raw, Start: mustDay(t, "2022-03-08"), Days: 3, FlowsPerDay: 3000, Seed: 11,
		Compress: "none", Workers: 1}); err != nil {
		t.Fatal(err)
	}
	lake := filepath.Join(t.TempDir(), "lake")
	if _, err := classifytest.WriteLake(ctx, lake, raw, classifytest.LakeOptions{RowGroupRows: 700}); err != nil {
		t.Fatal(err)
	}
	src, err := classify.OpenLakeSource(ctx, lake, -1, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, want := referenceAndDay(t, src, "2022-03-08", "2022-03-09")
	if want.Flows < 2000 || len(want.Domains) == 0 || len(want.JA3) == 0 {
		t.Fatalf("fixture: %d flows, %d domains, %d JA3 buckets", want.Flows, len(want.Domains), len(want.JA3))
	}
	compareReadDay(t, src, ref, "2022-03-09", want)
}

// referenceAndDay profiles the reference day first and counts day with
// Day.AddFlow over the full rows: what ReadDay must reproduce.
func referenceAndDay(t *testing.T, src *classify.LakeSource, first, date string) (*drift.Reference, *drift.Day) {
	t.Helper()
	ctx := context.Background()
	f, d := mustDay(t, first), mustDay(t, date)
	prof := drift.NewProfiler(drift.ProfileConfig{Seed: 1})
	if err := src.Scan(ctx, f, f, func(r *tablerow.FlowFeatures) error { prof.Add(r); return nil }); err != nil {
		t.Fatal(err)
	}
	ref, err := prof.Reference(drift.ModelProfile{FeatureSet: "no-sni"})
	if err != nil {
		t.Fatal(err)
	}
	want := drift.NewDay(ref, date)
	if err := src.Scan(ctx, d, d, func(r *tablerow.FlowFeatures) error { want.AddFlow(r); return nil }); err != nil {
		t.Fatal(err)
	}
	return ref, want
}

// compareReadDay checks ReadDay of day against want (AddFlow over the
// whole rows), with one worker and with three.
func compareReadDay(t *testing.T, src *classify.LakeSource, ref *drift.Reference, date string, want *drift.Day) {
	t.Helper()
	ctx := context.Background()
	day := mustDay(t, date)
	tab, files, err := src.Files(ctx, day, day)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		got := drift.NewDay(ref, date)
		var last int64
		if err := drift.ReadDay(ctx, tab, files, got, workers, func(n int64) { last = n }); err != nil {
			t.Fatal(err)
		}
		if last != want.Flows {
			t.Errorf("%d workers: progress ended at %d, want %d", workers, last, want.Flows)
		}
		if diff := cmp.Diff(want.Flows, got.Flows); diff != "" {
			t.Errorf("%d workers: flows (-rows +ReadDay):\n%s", workers, diff)
		}
		if diff := cmp.Diff(want.Hist, got.Hist); diff != "" {
			t.Errorf("%d workers: histogram (-rows +ReadDay):\n%s", workers, diff)
		}
		if diff := cmp.Diff(want.Apps, got.Apps); diff != "" {
			t.Errorf("%d workers: apps (-rows +ReadDay):\n%s", workers, diff)
		}
		if diff := cmp.Diff(want.Domains, got.Domains); diff != "" {
			t.Errorf("%d workers: domains (-rows +ReadDay):\n%s", workers, diff)
		}
		if diff := cmp.Diff(want.JA3, got.JA3); diff != "" {
			t.Errorf("%d workers: JA3 (-rows +ReadDay):\n%s", workers, diff)
		}
	}
}

// TestReadDayDeltaRS reads a flow_features table written by delta-rs:
// nullable columns and lists as pyarrow names them, with null strings,
// null and empty lists and short rows, which ReadDay must count as
// lakehouse.Rows reads them.
func TestReadDayDeltaRS(t *testing.T) {
	ctx := context.Background()
	lake := filepath.Join(t.TempDir(), "lake")
	cmd := exec.Command(testenv.Python(t), "testdata/delta_features.py", filepath.Join(lake, "flow_features"), "4000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("delta-rs: %v\n%s", err, out)
	}
	src, err := classify.OpenLakeSource(ctx, lake, -1, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, want := referenceAndDay(t, src, "2022-03-07", "2022-03-08")
	if want.Flows != 2000 {
		t.Fatalf("fixture: %d flows of 2022-03-08, want 2000", want.Flows)
	}
	compareReadDay(t, src, ref, "2022-03-08", want)
}
