package main

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/features"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/beam/internal/laketest"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// TestCompactClosedWeek: --job=all over Saturday, Sunday and Monday
// (small files: --file_rows 10) compacts the week its Sunday closes, in
// flows (one file per app partition of the week) and flow_features (one
// file for the week), and leaves the open week alone; the tables hold the
// same rows as a lake ingested without compaction, and delta-rs reads
// them. --job=compact of the compacted week then has nothing to do, of the
// open week compacts it, and a bad --week is refused.
func TestCompactClosedWeek(t *testing.T) {
	raw := t.TempDir()
	if _, err := flowgen.Week(raw, dayOf("2022-03-12"), 3, 60, 6, 4); err != nil {
		t.Fatal(err)
	}
	ingest := func(compact bool) (string, map[string]any) {
		c := defaults()
		c.Input, c.Lake, c.FileRows, c.CompactClosed = raw, t.TempDir(), 10, compact
		res, err := runCLI(t, c)
		if err != nil {
			t.Fatal(err)
		}
		return c.Lake, res
	}
	lake, res := ingest(true)
	plain, _ := ingest(false)

	weekFiles := func(lake, table, week string) int {
		n := 0
		tab, err := deltaio.TableSpec{Lake: lake, Name: table}.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		snap, err := tab.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range snap.Files() {
			if a.PartitionValues["week"] == week {
				n++
			}
		}
		return n
	}
	apps := map[string]bool{}
	for _, f := range readFlows(t, lake) {
		if f.Week == "2022-W10" {
			apps[f.App] = true
		}
	}
	if got := weekFiles(lake, "flows", "2022-W10"); got != len(apps) {
		t.Errorf("flows 2022-W10: %d files after compaction, want one per app partition (%d)", got, len(apps))
	}
	if got := weekFiles(lake, features.Table, "2022-W10"); got != 1 {
		t.Errorf("flow_features 2022-W10: %d files after compaction, want 1", got)
	}
	if got, was := weekFiles(lake, "flows", "2022-W11"), weekFiles(plain, "flows", "2022-W11"); got != was || got < 2 {
		t.Errorf("flows 2022-W11 (open): %d files, %d without compaction; want it untouched", got, was)
	}
	comp, _ := res["compact"].(map[string]any)
	if _, ok := comp["2022-W10"]; !ok || len(comp) != 1 {
		t.Errorf("result compact %v; want week 2022-W10 only", res["compact"])
	}
	if diff := cmp.Diff(readFlows(t, plain), readFlows(t, lake), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("flows differ after compaction (-plain +compacted):\n%s", diff)
	}
	if diff := cmp.Diff(readFeatures(t, plain), readFeatures(t, lake), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("flow_features differ after compaction (-plain +compacted):\n%s", diff)
	}
	got := deltaRSTables(t, lake, []string{"flows", features.Table})
	want := deltaRSTables(t, plain, []string{"flows", features.Table})
	for _, name := range []string{"flows", features.Table} {
		if got[name].Rows != want[name].Rows || got[name].Files >= want[name].Files {
			t.Errorf("delta-rs: %s has %d rows in %d files, %d in %d without compaction", name, got[name].Rows, got[name].Files, want[name].Rows, want[name].Files)
		}
	}

	c := defaults()
	c.Job, c.Lake = "compact", lake
	for _, bad := range []string{"", "2022-10", "W10"} {
		c.Week = bad
		if _, err := runCLI(t, c); err == nil || !strings.Contains(err.Error(), "--week") {
			t.Errorf("--week %q: %v; want a refusal", bad, err)
		}
	}
	c.Week = "2022-W10"
	if _, err := runCLI(t, c); exitCode(err) != 99 {
		t.Errorf("compacting a compacted week: %v, want nothing to do", err)
	}
	c.Week = "2022-W11"
	res, err := runCLI(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if weekFiles(lake, "flows", "2022-W11") >= weekFiles(plain, "flows", "2022-W11") {
		t.Errorf("--job=compact --week=2022-W11 did not compact flows: %v", res["compact"])
	}
}

func readFeatures(t *testing.T, lake string) []tablerow.FlowFeatures {
	t.Helper()
	out := laketest.Rows[tablerow.FlowFeatures](t, lake, features.Table)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func TestClosedWeeks(t *testing.T) {
	got := closedWeeks([]string{"2022-03-12", "2022-03-13", "2022-03-14", "2022-12-31", "2022-01-02", "2022-03-20"})
	want := []string{"2022-W10", "2022-W52", "2022-W00", "2022-W11"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("closedWeeks (-want +got):\n%s", diff)
	}
}
