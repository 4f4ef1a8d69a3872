package lakehouse_test

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// statsRow has one column of every kind whose add statistics differ.
type statsRow struct {
	B   int8      `parquet:"b"`
	S   int16     `parquet:"s"`
	I   int32     `parquet:"i"`
	L   int64     `parquet:"l"`
	F   float32   `parquet:"f"`
	D   float64   `parquet:"d"`
	Str string    `parquet:"str"`
	TS  time.Time `parquet:"ts,timestamp(microsecond)"`
	Opt *int64    `parquet:"opt,optional"`
	OK  bool      `parquet:"ok"`
	PPI []int32   `parquet:"ppi,list"`
	P   string    `parquet:"p"`
}

// newStatsTable creates a statsRow table partitioned by p, 7 rows a row
// group.
func newStatsTable(ctx context.Context, t *testing.T) *lakehouse.Table {
	t.Helper()
	store, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lakehouse.Create[statsRow](ctx, store, lakehouse.CreateOptions{PartitionColumns: []string{"p"}},
		lakehouse.Options{RowGroupRows: 7})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// statsRows returns 50 rows of every kind of column, partition "x", every
// fourth with Opt set and row 17's float a NaN; vary gives row i's string,
// its timestamp's offset in seconds (plus 1.5 ms) and its list.
func statsRows(vary func(i int) (str string, sec time.Duration, ppi []int32)) []statsRow {
	base := time.Date(2022, 3, 7, 10, 0, 0, 0, time.UTC)
	var rows []statsRow
	for i := range 50 {
		str, sec, ppi := vary(i)
		r := statsRow{B: int8(i - 20), S: int16(i * 300), I: int32(-i), L: int64(i) << 40,
			F: float32(i) / 3, D: float64(i) * 1.5, Str: str,
			TS: base.Add(sec*time.Second + 1500*time.Microsecond), OK: i%2 == 0, PPI: ppi, P: "x"}
		if i%4 == 0 {
			v := int64(i)
			r.Opt = &v
		}
		rows = append(rows, r)
	}
	rows[17].F = float32(math.NaN())
	return rows
}

// TestAddStats checks the statistics of add actions against a direct
// computation over the rows, across several row groups: exact integer,
// float and string bounds, long strings (a 32-character prefix as min, no
// max), timestamps widened to whole milliseconds, null counts, no bounds
// for a float column holding a NaN, none for booleans and lists, and no
// partition column.
func TestAddStats(t *testing.T) {
	ctx := context.Background()
	tbl := newStatsTable(ctx, t)
	long := strings.Repeat("é", 40)
	rows := statsRows(func(i int) (string, time.Duration, []int32) {
		return string(rune('a' + i%26)), time.Duration(i), []int32{int32(i)}
	})
	rows[30].Str = long
	w, err := lakehouse.NewWriter[statsRow](ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	// Two files from one writer (which reuses its Parquet writers): each
	// has the statistics of its own rows only.
	for _, part := range [][]statsRow{rows, rows[35:]} {
		adds, err := w.WriteDataFile(ctx, map[string]string{"p": "x"}, part)
		if err != nil {
			t.Fatal(err)
		}
		if len(adds) != 1 {
			t.Fatalf("%d files, want 1", len(adds))
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(adds[0].Stats), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantStats(part), got); diff != "" {
			t.Errorf("stats of %d rows (-want +got):\n%s\n%s", len(part), diff, adds[0].Stats)
		}
	}
}

// wantStats computes the add statistics of rows directly.
func wantStats(rows []statsRow) map[string]any {
	// The expected statistics, computed here from the rows.
	mins, maxs := map[string]any{}, map[string]any{}
	bound := func(name string, v float64) {
		if lo, ok := mins[name]; !ok || v < lo.(float64) {
			mins[name] = v
		}
		if hi, ok := maxs[name]; !ok || v > hi.(float64) {
			maxs[name] = v
		}
	}
	minStr, maxStr, optNulls := rows[0].Str, rows[0].Str, 0
	hasNaN, long := false, false
	minTS, maxTS := rows[0].TS, rows[0].TS
	for _, r := range rows {
		bound("b", float64(r.B))
		bound("s", float64(r.S))
		bound("i", float64(r.I))
		bound("l", float64(r.L))
		bound("d", r.D)
		if !math.IsNaN(float64(r.F)) {
			// A float bound is written as the shortest float32 text.
			f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(r.F), 'g', -1, 32), 64)
			bound("f", f)
		}
		hasNaN = hasNaN || math.IsNaN(float64(r.F))
		if len(r.Str) > 32 {
			long = true
		}
		maxStr = max(maxStr, r.Str)
		if r.Opt == nil {
			optNulls++
		} else {
			bound("opt", float64(*r.Opt))
		}
		minStr = min(minStr, r.Str)
		if r.TS.Before(minTS) {
			minTS = r.TS
		}
		if r.TS.After(maxTS) {
			maxTS = r.TS
		}
	}
	const ms = "2006-01-02T15:04:05.000Z"
	mins["str"] = minStr
	if !long {
		maxs["str"] = maxStr
	}
	if hasNaN {
		delete(mins, "f")
		delete(maxs, "f")
	}
	mins["ts"] = minTS.Truncate(time.Millisecond).Format(ms)
	maxs["ts"] = maxTS.Truncate(time.Millisecond).Add(time.Millisecond).Format(ms)
	nulls := map[string]any{}
	for _, c := range []string{"b", "s", "i", "l", "f", "d", "str", "ts", "ok"} {
		nulls[c] = 0.0
	}
	nulls["opt"] = float64(optNulls)
	return map[string]any{"numRecords": float64(len(rows)), "minValues": mins, "maxValues": maxs, "nullCount": nulls}
}

// TestOptimizeCopiesRowGroups: compaction moves row groups without
// decoding them, and the compacted file has the rows and the add
// statistics of a file written from those rows (the NaN of one source file
// still drops the float bounds).
func TestOptimizeCopiesRowGroups(t *testing.T) {
	ctx := context.Background()
	tbl := newStatsTable(ctx, t)
	rows := statsRows(func(i int) (string, time.Duration, []int32) {
		return string(rune('a' + (i*7)%26)), time.Duration(50 - i), []int32{int32(i), 2}
	})
	for _, part := range [][]statsRow{rows[:20], rows[20:35], rows[35:]} {
		if _, err := lakehouse.Append(ctx, tbl, part, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := lakehouse.Optimize[statsRow](ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRemoved != 3 || res.FilesAdded != 1 || res.RowsCopied != 48 || res.RowsRewritten != 2 {
		t.Fatalf("optimize: %+v; want 3 files into 1, the 48 rows of full row groups copied, the 2 of 1-row groups rewritten", res)
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files()
	if len(files) != 1 {
		t.Fatalf("%d files after optimize, want 1", len(files))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(files[0].Stats), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantStats(rows), got); diff != "" {
		t.Errorf("stats of the compacted file (-want +got):\n%s\n%s", diff, files[0].Stats)
	}
	var back []statsRow
	for r, err := range lakehouse.Rows[statsRow](ctx, tbl, snap) {
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, r)
	}
	sort.Slice(back, func(i, j int) bool { return back[i].L < back[j].L }) // files compact in path order
	opts := cmp.Options{cmp.Comparer(func(a, b float32) bool { return a == b || (a != a && b != b) })}
	if diff := cmp.Diff(rows, back, opts); diff != "" {
		t.Errorf("rows after optimize (-want +got):\n%s", diff)
	}
}
