package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/beam/aggregate"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/beam/internal/beamtest"
	"github.com/telcotraffic/telcotraffic/beam/internal/laketest"
	"github.com/telcotraffic/telcotraffic/beam/parse"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() {
	register.Function2x1(formatSums)
}

func formatSums(k string, v aggregate.Sums) string { return fmt.Sprintf("%q=%v", k, v) }

func day(s string) time.Time {
	d, _ := time.Parse(time.DateOnly, s)
	return d
}

// ingest fills a lake's flows table from generated days plus the fixtures.
func ingest(t *testing.T) (lake string) {
	t.Helper()
	root, lake := t.TempDir(), t.TempDir()
	// Two weeks: Sunday 2022-03-13 (W10) and Monday 2022-03-14 (W11).
	if _, err := flowgen.Week(root, day("2022-03-12"), 3, 200, 12, 5); err != nil {
		t.Fatal(err)
	}
	p, err := parse.NewPlan(context.Background(), parse.Config{Input: root, Lake: lake})
	if err != nil {
		t.Fatal(err)
	}
	pipe, s := beam.NewPipelineWithRoot()
	if _, err := parse.Build(s, p); err != nil {
		t.Fatal(err)
	}
	beamtest.Run(t, pipe)
	return lake
}

func flows(t *testing.T, lake string) []cesnet.Flow {
	return laketest.Rows[cesnet.Flow](t, lake, "flows")
}

// direct is the reference: the same sums computed in a plain loop.
func direct(fs []cesnet.Flow) []tablerow.TrafficHourly {
	type key struct {
		week, app, cat string
		hour           time.Time
	}
	m := map[key]*tablerow.TrafficHourly{}
	for _, f := range fs {
		hour, week := tablerow.HourlyKey(f.TimeFirst, f.Week)
		k := key{week, f.App, f.Category, hour}
		r := m[k]
		if r == nil {
			r = &tablerow.TrafficHourly{Hour: k.hour, App: f.App, Category: f.Category, Week: week}
			m[k] = r
		}
		r.Flows++
		r.Bytes += f.Bytes
		r.BytesRev += f.BytesRev
		r.Packets += f.Packets
		r.PacketsRev += f.PacketsRev
	}
	var out []tablerow.TrafficHourly
	for _, r := range m {
		out = append(out, *r)
	}
	aggregate.SortRows(out)
	return out
}

func TestSumsPipeline(t *testing.T) {
	lake := ingest(t)
	p, err := aggregate.NewPlan(context.Background(), aggregate.Config{Lake: lake, FlowsVersion: -1, UnitRows: 150})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Units) < 3 {
		t.Fatalf("%d units, want several (UnitRows 150)", len(p.Units))
	}
	var want []any
	for _, r := range direct(flows(t, lake)) {
		k := r.Week + "\x1f" + fmt.Sprint(r.Hour.UnixMicro()) + "\x1f" + r.App + "\x1f" + r.Category
		want = append(want, formatSums(k, aggregate.Sums{Flows: r.Flows, Bytes: r.Bytes, BytesRev: r.BytesRev, Packets: r.Packets, PacketsRev: r.PacketsRev}))
	}
	pipe, s := beam.NewPipelineWithRoot()
	var units []string
	for _, u := range p.Units {
		e, _ := deltaio.EncodeUnit(u)
		units = append(units, e)
	}
	sums := aggregate.HourlySums(s, p, beam.CreateList(s, units))
	passert.Equals(s, beam.ParDo(s, formatSums, sums), want...)
	beamtest.Run(t, pipe)
}

func TestAggregateEqualsDirect(t *testing.T) {
	lake := ingest(t)
	ctx := context.Background()
	p, err := aggregate.NewPlan(ctx, aggregate.Config{Lake: lake, FlowsVersion: -1, UnitRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2022-W10", "2022-W11"}, p.Source.Weeks); diff != "" {
		t.Fatal(diff)
	}
	pipe, s := beam.NewPipelineWithRoot()
	res, err := aggregate.Build(s, p)
	if err != nil {
		t.Fatal(err)
	}
	passert.Count(s, res, "results", 1)
	beamtest.Run(t, pipe)
	got := tableRows(t, lake)
	want := direct(flows(t, lake))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("traffic_hourly differs from the direct computation (-want +got):\n%s", diff)
	}
	if len(want) < 100 {
		t.Errorf("only %d rows: test data too thin", len(want))
	}
	// Monday 2022-03-14's file holds flows from Sunday 22:00 UTC: the
	// Sunday 23:00 UTC hour is in Monday's week (tablerow.HourlyKey), as in
	// forecast's reader (TestAggregatorWeekIsFileWeek).
	sunday23 := time.Date(2022, 3, 13, 23, 0, 0, 0, time.UTC)
	n := 0
	for _, r := range got {
		if r.Hour.Equal(sunday23) {
			n++
			if r.Week != "2022-W11" {
				t.Errorf("row at %s in week %s, want 2022-W11", sunday23, r.Week)
			}
		}
	}
	if n == 0 {
		t.Errorf("no row at %s: test data does not cover the week boundary", sunday23)
	}

	// Same flows version again: nothing to do.
	p2, err := aggregate.NewPlan(ctx, aggregate.Config{Lake: lake, FlowsVersion: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Done {
		t.Error("second plan on the same flows version is not Done")
	}

	// Re-aggregate only week 11 (from/to): week 10 files are kept.
	tab, _ := deltaio.TableSpec{Lake: lake, Name: aggregate.Table}.Open(ctx)
	snap, _ := tab.Snapshot(ctx)
	w10 := map[string]bool{}
	for _, a := range snap.Files() {
		if a.PartitionValues["week"] == "2022-W10" {
			w10[a.Path] = true
		}
	}
	p3, err := aggregate.NewPlan(ctx, aggregate.Config{Lake: lake, FlowsVersion: 0, From: day("2022-03-14"), To: day("2022-03-14")})
	if err != nil {
		t.Fatal(err)
	}
	// flows@0 is the empty table: week 11 is replaced with nothing.
	pipe, s = beam.NewPipelineWithRoot()
	if _, err := aggregate.Build(s, p3); err != nil {
		t.Fatal(err)
	}
	beamtest.Run(t, pipe)
	snap, _ = tab.Snapshot(ctx)
	for _, a := range snap.Files() {
		if !w10[a.Path] {
			t.Errorf("file %s (week %s) live after replacing week 11 with nothing", a.Path, a.PartitionValues["week"])
		}
	}
	if len(snap.Files()) != len(w10) {
		t.Errorf("%d files, want the %d of week 10", len(snap.Files()), len(w10))
	}
}

func tableRows(t *testing.T, lake string) []tablerow.TrafficHourly {
	t.Helper()
	out := laketest.Rows[tablerow.TrafficHourly](t, lake, aggregate.Table)
	for i := range out {
		out[i].Hour = out[i].Hour.UTC()
	}
	aggregate.SortRows(out)
	return out
}

func TestNoFlowsTable(t *testing.T) {
	_, err := aggregate.NewPlan(context.Background(), aggregate.Config{Lake: t.TempDir(), FlowsVersion: -1})
	if !errors.Is(err, lakehouse.ErrNotTable) {
		t.Errorf("err %v, want ErrNotTable", err)
	}
}
