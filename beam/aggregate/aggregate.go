// Package aggregate is the Beam aggregate job (the seed's Job B): the
// `flows` table at a pinned version → `traffic_hourly`, one row per
// week × hour × app × category with the sums of flows, bytes, bytes_rev,
// packets and packets_rev. Hour is TIME_FIRST truncated to the hour (UTC);
// week is the flow's dataset week (the week of its day file), which is also
// the partition. A day file holds flows from about 22:00 UTC the day before
// (the dataset files flows by local day), so the first hours of a week can
// also appear, with the flows of the previous week's last file, in the
// previous week's partition: sum over weeks when you query by hour.
//
// Pipeline shape (nothing but small sums is shuffled):
//
//	Create(units: groups of flows data files, per week) ─► Reshuffle
//	  ─► sumUnitFn: reads only the needed columns, pre-sums per key
//	  ─► CombinePerKey(mergeSums)            (lifted: partial sums before the shuffle)
//	  ─► byWeekFn ─► GroupByKey(week) ─► writeWeekFn: one sorted data file per week
//	  ─► deltaio.Commit: replace-where of the selected weeks, one commit, txn
//
// The txn app id is derived from the flows table id and version and the
// selected weeks, so re-running against the same flows version is a no-op.
package aggregate

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
)

func init() {
	register.DoFn3x1[context.Context, string, func(string, Sums), error](&sumUnitFn{})
	register.Function2x1(mergeSums)
	register.Function3x0(byWeek)
	register.DoFn4x1[context.Context, string, func(*Row) bool, func(string), error](&writeWeekFn{})
	register.Emitter2[string, Sums]()
	register.Emitter2[string, Row]()
	register.Iter1[Row]()
}

// Table is the output table's name under the lake root.
var Table = catalog.TrafficHourly.Name

// Sums are the counters of one key. Fields are exported: Beam encodes
// combiner accumulators with a schema coder that drops unexported fields.
type Sums struct {
	Flows, Bytes, BytesRev, Packets, PacketsRev int64
}

func mergeSums(a, b Sums) Sums {
	return Sums{a.Flows + b.Flows, a.Bytes + b.Bytes, a.BytesRev + b.BytesRev, a.Packets + b.Packets, a.PacketsRev + b.PacketsRev}
}

// Row is one traffic_hourly row as shuffled (no time.Time in Beam coders).
type Row struct {
	HourMicros    int64
	App, Category string
	Week          string
	Sums          Sums
}

// Config configures the aggregate job.
type Config struct {
	Lake         string
	FlowsVersion int64     // flows version to read (negative: latest)
	From, To     time.Time // select the weeks of these days (zero: every week)
	UnitRows     int64     // rows per work unit (default 500,000: a real day spreads over the slots)
	// Table options (zero: lakehouse defaults).
	TargetFileSize int64
	// Compression of the data files: "zstd" (the lakehouse default) or "snappy".
	Compression string
}

// unitFiles caps the data files of a work unit, so that a week of small
// files still spreads over the worker's slots.
const unitFiles = 300

// Plan is a planned aggregate run.
type Plan = deltaio.WeekPlan

// NewPlan pins the flows version, selects the weeks and creates the output
// table if needed.
func NewPlan(ctx context.Context, cfg Config) (*Plan, error) {
	rows := cfg.UnitRows
	if rows <= 0 {
		rows = 500_000
	}
	p, err := deltaio.PlanWeekJob[tablerow.TrafficHourly](ctx, deltaio.WeekJob{
		Name: "aggregate", Lake: cfg.Lake, FlowsVersion: cfg.FlowsVersion, From: cfg.From, To: cfg.To,
		Out:      deltaio.TableSpec{Lake: cfg.Lake, Name: Table, PartitionBy: []string{"week"}, TargetFileSize: cfg.TargetFileSize, Compression: cfg.Compression},
		UnitRows: rows, UnitFiles: unitFiles,
	})
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	return p, nil
}

// Build adds the aggregate job to s and returns the commit results
// (PCollection<string> of deltaio.CommitResult JSON).
func Build(s beam.Scope, p *Plan) (beam.PCollection, error) {
	s = s.Scope("aggregate")
	units, err := deltaio.EncodeUnits(p.Units)
	if err != nil {
		return beam.PCollection{}, err
	}
	var manifests beam.PCollection
	if len(units) == 0 {
		// No flows in the selected weeks: commit the replace with nothing.
		manifests = beam.Create(s, mustEncode(&deltaio.Manifest{Unit: "empty"}))
	} else {
		sums := HourlySums(s, p, beam.Reshuffle(s, beam.CreateList(s, units)))
		manifests = Write(s, p.Spec.Table, sums)
	}
	return deltaio.Commit(s, []deltaio.CommitSpec{p.Spec}, 0, manifests), nil
}

func mustEncode(m *deltaio.Manifest) string {
	s, err := m.Encode()
	if err != nil {
		panic(err)
	}
	return s
}

// HourlySums reads the units (PCollection<string> of deltaio.Unit JSON) and
// returns the per-key sums, PCollection<KV<string, Sums>>; the key is
// week, hour (Unix microseconds), app and category joined by keySep.
func HourlySums(s beam.Scope, p *Plan, units beam.PCollection) beam.PCollection {
	s = s.Scope("aggregate.Sums")
	partial := beam.ParDo(s, &sumUnitFn{Flows: p.Source.Table, PartCols: p.Source.PartCols, Weeks: p.Source.Weeks}, units)
	return beam.CombinePerKey(s, mergeSums, partial)
}

// Write writes per-key sums as traffic_hourly data files, one sorted file
// per week, and returns their manifests.
func Write(s beam.Scope, out deltaio.TableSpec, sums beam.PCollection) beam.PCollection {
	s = s.Scope("aggregate.Write")
	rows := beam.ParDo(s, byWeek, sums)
	return beam.ParDo(s, &writeWeekFn{Table: out}, beam.GroupByKey(s, rows))
}

const keySep = "\x1f"

// sumColumns are the flows columns the job reads, in the order
// sumUnitFn uses them (the other columns are not decoded).
var sumColumns = []string{"time_first", "bytes", "bytes_rev", "packets", "packets_rev", "app", "category", "week"}

type hourKey struct {
	week, app, category string
	hour                int64
}

// sumUnitFn sums the flows of one unit per key.
type sumUnitFn struct {
	Flows    deltaio.TableSpec
	PartCols []string
	Weeks    []string

	tab *lakehouse.Table
}

func (f *sumUnitFn) Setup(ctx context.Context) error {
	var err error
	f.tab, err = f.Flows.Open(ctx)
	return err
}

func (f *sumUnitFn) ProcessElement(ctx context.Context, elem string, emit func(string, Sums)) error {
	acc := map[hourKey]Sums{}
	selected := make(map[string]bool, len(f.Weeks))
	for _, w := range f.Weeks {
		selected[w] = true
	}
	_, err := deltaio.ReadUnitColumns(ctx, f.tab, f.PartCols, f.Weeks, elem, sumColumns, func(b *deltaio.Batch) error {
		c := b.Cols
		for i := 0; i < b.Rows; i++ {
			if !selected[c[7].Str[i]] {
				continue
			}
			hour, week := tablerow.HourlyKey(time.UnixMicro(c[0].Int64[i]).UTC(), c[7].Str[i])
			k := hourKey{week: week, app: c[5].Str[i], category: c[6].Str[i], hour: hour.UnixMicro()}
			s := acc[k]
			acc[k] = Sums{s.Flows + 1, s.Bytes + c[1].Int64[i], s.BytesRev + c[2].Int64[i], s.Packets + c[3].Int64[i], s.PacketsRev + c[4].Int64[i]}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("aggregate: %w", err)
	}
	for k, v := range acc {
		emit(k.week+keySep+strconv.FormatInt(k.hour, 10)+keySep+k.app+keySep+k.category, v)
	}
	return nil
}

// byWeek turns a key and its sums into a row keyed by week.
func byWeek(key string, v Sums, emit func(string, Row)) {
	p := strings.SplitN(key, keySep, 4)
	hour, _ := strconv.ParseInt(p[1], 10, 64)
	emit(p[0], Row{HourMicros: hour, Week: p[0], App: p[2], Category: p[3], Sums: v})
}

// writeWeekFn writes the rows of one week as data files, sorted by hour,
// app and category.
type writeWeekFn struct {
	Table deltaio.TableSpec

	tab *lakehouse.Table
}

func (f *writeWeekFn) Setup(ctx context.Context) error {
	var err error
	f.tab, err = f.Table.Open(ctx)
	return err
}

func (f *writeWeekFn) ProcessElement(ctx context.Context, week string, it func(*Row) bool, emit func(string)) error {
	var rows []tablerow.TrafficHourly
	var r Row
	for it(&r) {
		rows = append(rows, tablerow.TrafficHourly{Hour: time.UnixMicro(r.HourMicros).UTC(), App: r.App, Category: r.Category,
			Flows: r.Sums.Flows, Bytes: r.Sums.Bytes, BytesRev: r.Sums.BytesRev, Packets: r.Sums.Packets, PacketsRev: r.Sums.PacketsRev, Week: r.Week})
	}
	SortRows(rows)
	buf, err := deltaio.NewBuffer[tablerow.TrafficHourly](ctx, f.tab, len(rows)+1, len(rows)+1)
	if err != nil {
		return err
	}
	var flows int64
	for _, row := range rows {
		flows += row.Flows
		if err := buf.Add(ctx, row); err != nil {
			return err
		}
	}
	adds, err := buf.Close(ctx)
	if err != nil {
		return err
	}
	m := &deltaio.Manifest{Unit: "week:" + week}
	m.AddFiles(Table, adds)
	m.Count("rows_written", int64(len(rows)))
	m.Count("rows_in", flows)
	s, err := m.Encode()
	if err != nil {
		return err
	}
	emit(s)
	return nil
}

// SortRows sorts traffic_hourly rows by week, hour, app and category.
func SortRows(rows []tablerow.TrafficHourly) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Week != b.Week {
			return a.Week < b.Week
		}
		if !a.Hour.Equal(b.Hour) {
			return a.Hour.Before(b.Hour)
		}
		if a.App != b.App {
			return a.App < b.App
		}
		return a.Category < b.Category
	})
}
