package deltaio_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/beam/internal/laketest"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() {
	deltaio.RegisterRowType[cesnet.Flow]("test-flow")
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func newTable(t *testing.T) (deltaio.TableSpec, *lakehouse.Table) {
	t.Helper()
	spec := deltaio.TableSpec{Lake: t.TempDir(), Name: "flows", PartitionBy: []string{"week", "app"}}
	tab, warn, err := deltaio.OpenOrCreate[cesnet.Flow](context.Background(), spec)
	if err != nil || warn != nil {
		t.Fatal(err, warn)
	}
	return spec, tab
}

func rows(t *testing.T, tab *lakehouse.Table) []cesnet.Flow {
	t.Helper()
	out := laketest.TableRows[cesnet.Flow](t, tab)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// TestBufferBounds: files never exceed FileRows rows, all rows arrive,
// and each file holds one partition.
func TestBufferBounds(t *testing.T) {
	ctx := context.Background()
	_, tab := newTable(t)
	in := flowgen.Day(day("2022-03-07"), 500, 6, 1)
	buf, err := deltaio.NewBuffer[cesnet.Flow](ctx, tab, 40, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range in {
		if err := buf.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		if buf.Buffered() >= 100 {
			t.Fatalf("%d rows buffered, max 100", buf.Buffered())
		}
	}
	adds, err := buf.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Written() != 500 {
		t.Errorf("written %d, want 500", buf.Written())
	}
	var total int64
	for _, a := range adds {
		n := deltaio.NumRecords(a)
		if n < 1 || n > 40 {
			t.Errorf("%s: %d rows, want 1..40", a.Path, n)
		}
		total += n
		if a.PartitionValues["week"] != "2022-W10" || a.PartitionValues["app"] == "" {
			t.Errorf("%s: partition %v", a.Path, a.PartitionValues)
		}
	}
	if total != 500 {
		t.Errorf("stats count %d rows, want 500", total)
	}
	rv := int64(0)
	if _, err := tab.Commit(ctx, lakehouse.Commit{Adds: adds, ReadVersion: &rv}); err != nil {
		t.Fatal(err)
	}
	got := rows(t, tab)
	if diff := cmp.Diff(in, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestPlanUnits(t *testing.T) {
	add := func(path, week string, n int) lakehouse.Add {
		return lakehouse.Add{Path: path, PartitionValues: map[string]string{"week": week}, Stats: fmt.Sprintf(`{"numRecords":%d}`, n)}
	}
	files := []lakehouse.Add{add("c", "W2", 5), add("a", "W1", 6), add("b", "W1", 6), add("d", "W1", 20), add("e", "W2", 1)}
	got := deltaio.PlanUnits(files, deltaio.WeekOf, 12, 10)
	type unit struct {
		Group string
		Paths []string
		Rows  int64
	}
	var sum []unit
	for _, u := range got {
		var ps []string
		for _, f := range u.Files {
			ps = append(ps, f.Path)
		}
		sum = append(sum, unit{u.Group, ps, u.Rows})
	}
	want := []unit{{"W1", []string{"a", "b"}, 12}, {"W1", []string{"d"}, 20}, {"W2", []string{"c", "e"}, 6}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
}

func TestAppID(t *testing.T) {
	a := deltaio.AppID("parse", "x", "y")
	if a != deltaio.AppID("parse", "x", "y") {
		t.Error("not deterministic")
	}
	for _, other := range []string{deltaio.AppID("parse", "xy"), deltaio.AppID("parse", "x", "z"), deltaio.AppID("features", "x", "y")} {
		if other == a {
			t.Errorf("%s collides", other)
		}
	}
}

// writeDay writes one day's rows as data files and returns the adds.
func writeDay(t *testing.T, tab *lakehouse.Table, rs []cesnet.Flow) []lakehouse.Add {
	t.Helper()
	ctx := context.Background()
	buf, err := deltaio.NewBuffer[cesnet.Flow](ctx, tab, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if err := buf.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	adds, err := buf.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return adds
}

func countDays(fs []cesnet.Flow) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		out[f.Day]++
	}
	return out
}

// TestCommitReplaceDays: replace-days removes exactly the files of the
// replaced days, rewrites a compacted file holding other days too, and a
// second commit with the same app id is skipped.
func TestCommitReplaceDays(t *testing.T) {
	ctx := context.Background()
	spec, tab := newTable(t)
	d1, d2, d3 := flowgen.Day(day("2022-03-07"), 30, 2, 1), flowgen.Day(day("2022-03-08"), 30, 2, 1), flowgen.Day(day("2022-03-09"), 30, 2, 1)
	var adds []lakehouse.Add
	for _, d := range [][]cesnet.Flow{d1, d2, d3} {
		adds = append(adds, writeDay(t, tab, d)...)
	}
	cs := deltaio.CommitSpec{Table: spec, Mode: deltaio.ModeReplaceDays, Days: []string{"2022-03-07", "2022-03-08", "2022-03-09"}, RowType: "test-flow", AppID: "run-1"}
	res, err := deltaio.CommitTable(ctx, cs, adds, map[string]int64{"rows_in": 90})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 1 || res.Added != len(adds) || res.Removed != 0 {
		t.Errorf("first commit %+v", res)
	}
	// The same app id again: skipped, nothing written.
	res, err = deltaio.CommitTable(ctx, cs, adds, nil)
	if err != nil || !res.Skipped || res.Version != 1 {
		t.Errorf("retried commit %+v, %v", res, err)
	}
	ci, found, err := deltaio.FindCommit(ctx, tab, "run-1")
	if err != nil || !found || ci.Version != 1 || ci.Counters["rows_in"] != 90 {
		t.Errorf("FindCommit: %+v found=%v err=%v", ci, found, err)
	}

	// Compact: files now hold three days.
	if _, err := lakehouse.Optimize[cesnet.Flow](ctx, tab); err != nil {
		t.Fatal(err)
	}
	snap, _ := tab.Snapshot(ctx)
	multi := 0
	for _, a := range snap.Files() {
		if lo, hi := deltaio.StatString(a, "day"); lo != hi {
			multi++
		}
	}
	if multi == 0 {
		t.Fatal("no multi-day file after Optimize")
	}

	// Replace 2022-03-08 with 7 new rows.
	nd := flowgen.Day(day("2022-03-08"), 7, 2, 9)
	cs2 := deltaio.CommitSpec{Table: spec, Mode: deltaio.ModeReplaceDays, Days: []string{"2022-03-08"}, RowType: "test-flow", AppID: "run-2"}
	if _, err := deltaio.CommitTable(ctx, cs2, writeDay(t, tab, nd), nil); err != nil {
		t.Fatal(err)
	}
	got := rows(t, tab)
	if diff := cmp.Diff(map[string]int{"2022-03-07": 30, "2022-03-08": 7, "2022-03-09": 30}, countDays(got)); diff != "" {
		t.Fatal(diff)
	}
	want := append(append(append([]cesnet.Flow{}, d1...), nd...), d3...)
	sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("rows after replacing a day (-want +got):\n%s", diff)
	}

	// Without a registered row type a straddling file is an error.
	cs3 := deltaio.CommitSpec{Table: spec, Mode: deltaio.ModeReplaceDays, Days: []string{"2022-03-09"}, AppID: "run-3"}
	if _, err := lakehouse.Optimize[cesnet.Flow](ctx, tab); err != nil {
		t.Fatal(err)
	}
	if _, err := deltaio.CommitTable(ctx, cs3, nil, nil); err == nil {
		t.Error("replace of a day in a multi-day file without row type: no error")
	}
}

// TestCommitPipeline: the Commit composite checks the number of manifests
// and commits once.
func TestCommitPipeline(t *testing.T) {
	ctx := context.Background()
	spec, tab := newTable(t)
	var manifests []string
	for i, d := range []string{"2022-03-07", "2022-03-08"} {
		m := &deltaio.Manifest{Unit: fmt.Sprint("unit", i)}
		m.AddFiles("flows", writeDay(t, tab, flowgen.Day(day(d), 10, 3, 1)))
		m.Count("rows_in", 10)
		s, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		manifests = append(manifests, s)
	}
	cs := deltaio.CommitSpec{Table: spec, Mode: deltaio.ModeAppend, AppID: "pipeline-run"}

	// Planned three units, got two: the commit fails, nothing is committed.
	p, s := beam.NewPipelineWithRoot()
	deltaio.Commit(s, []deltaio.CommitSpec{cs}, 3, beam.CreateList(s, manifests))
	if err := ptest.Run(p); err == nil {
		t.Error("commit with a missing manifest succeeded")
	}
	if snap, _ := tab.Snapshot(ctx); snap.Version != 0 {
		t.Errorf("table at version %d after a failed commit", snap.Version)
	}

	p, s = beam.NewPipelineWithRoot()
	res := deltaio.Commit(s, []deltaio.CommitSpec{cs}, 2, beam.CreateList(s, manifests))
	passert.Count(s, res, "results", 1)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	if got := len(rows(t, tab)); got != 20 {
		t.Errorf("%d rows, want 20", got)
	}
	ci, found, err := deltaio.FindCommit(ctx, tab, "pipeline-run")
	if err != nil || !found || ci.Counters["rows_in"] != 20 {
		t.Errorf("FindCommit %+v %v %v", ci, found, err)
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := deltaio.TableSpec{Lake: t.TempDir(), Name: "nope"}.Open(context.Background())
	if !errors.Is(err, lakehouse.ErrNotTable) {
		t.Errorf("err %v, want ErrNotTable", err)
	}
}
