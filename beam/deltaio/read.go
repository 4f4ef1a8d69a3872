package deltaio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"sort"

	"github.com/parquet-go/parquet-go"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// ReadFile streams the rows of one data file of tab into T. T's parquet
// tags may name any subset of the table's columns: only those are decoded.
// Partition columns are filled from the add action. Rows are fresh values
// (they share nothing with later rows).
func ReadFile[T any](ctx context.Context, tab *lakehouse.Table, partCols []string, a lakehouse.Add) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		typ := reflect.TypeFor[T]()
		var fields [][]int
		var cols []string
		for _, c := range partCols {
			idx, err := fieldsOf(typ, []string{c})
			if err != nil {
				continue // T does not want this partition column
			}
			fields = append(fields, idx[0])
			cols = append(cols, c)
		}
		key, err := lakehouse.FilePath(a.Path)
		if err != nil {
			yield(zero, fmt.Errorf("deltaio: %w", err))
			return
		}
		var ra io.ReaderAt
		var size int64
		if a.Size > 0 && a.Size <= wholeFileBytes {
			// Small file: one read (one GET on S3) instead of one per page.
			b, err := tab.Store().Get(ctx, key)
			if err != nil {
				yield(zero, fmt.Errorf("deltaio: read %s: %w", key, err))
				return
			}
			ra, size = bytes.NewReader(b), int64(len(b))
		} else {
			r, err := tab.Store().Open(ctx, key)
			if err != nil {
				yield(zero, fmt.Errorf("deltaio: read %s: %w", key, err))
				return
			}
			defer r.Close()
			ra, size = r, r.Size()
		}
		f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			yield(zero, fmt.Errorf("deltaio: read %s: %w", key, err))
			return
		}
		pr := parquet.NewGenericReader[T](f)
		defer pr.Close()
		buf := make([]T, 256)
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			clear(buf) // so the reader allocates fresh slices for every row
			n, err := pr.Read(buf)
			for i := 0; i < n; i++ {
				rv := reflect.ValueOf(&buf[i]).Elem()
				for j, idx := range fields {
					rv.FieldByIndex(idx).SetString(a.PartitionValues[cols[j]])
				}
				if !yield(buf[i], nil) {
					return
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(zero, fmt.Errorf("deltaio: read %s: %w", key, err))
				return
			}
		}
	}
}

// wholeFileBytes is the size up to which ReadFile reads a data file at once.
const wholeFileBytes = 64 << 20

// NumRecords returns the row count of a data file from its stats (-1 when
// unknown).
func NumRecords(a lakehouse.Add) int64 {
	if a.Stats == "" {
		return -1
	}
	var st struct {
		NumRecords *int64 `json:"numRecords"`
	}
	if json.Unmarshal([]byte(a.Stats), &st) != nil || st.NumRecords == nil {
		return -1
	}
	return *st.NumRecords
}

// Unit is a group of data files processed by one DoFn call. It travels
// through Beam as JSON.
type Unit struct {
	ID    string          `json:"id"`
	Group string          `json:"group"` // the grouping key (e.g. the week)
	Files []lakehouse.Add `json:"files"`
	Rows  int64           `json:"rows"` // from the stats; -1 if unknown
}

// PlanUnits groups files by group(file), then packs each group, in path
// order, into units of at most maxRows rows (by the stats' numRecords; a
// file without stats counts as maxRows) and maxFiles files. The plan is
// deterministic.
func PlanUnits(files []lakehouse.Add, group func(lakehouse.Add) string, maxRows int64, maxFiles int) []Unit {
	byGroup := map[string][]lakehouse.Add{}
	for _, a := range files {
		g := group(a)
		byGroup[g] = append(byGroup[g], a)
	}
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var out []Unit
	for _, g := range groups {
		fs := byGroup[g]
		sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
		cur := -1
		for _, a := range fs {
			cost := NumRecords(a)
			if cost < 0 {
				cost = maxRows
			}
			if cur < 0 || out[cur].Rows+cost > maxRows || len(out[cur].Files) >= maxFiles {
				out = append(out, Unit{ID: fmt.Sprintf("%s#%d", g, len(out)), Group: g})
				cur = len(out) - 1
			}
			out[cur].Files = append(out[cur].Files, a)
			out[cur].Rows += cost
		}
	}
	return out
}

// EncodeUnit renders a unit as JSON.
func EncodeUnit(u Unit) (string, error) {
	b, err := json.Marshal(u)
	if err != nil {
		return "", fmt.Errorf("deltaio: unit: %w", err)
	}
	return string(b), nil
}

// DecodeUnit parses a unit.
func DecodeUnit(s string) (Unit, error) {
	var u Unit
	if err := json.Unmarshal([]byte(s), &u); err != nil {
		return u, fmt.Errorf("deltaio: unit: %w", err)
	}
	return u, nil
}

// StatString returns the min and max statistics of a string column of a
// file ("" when absent), or its partition value.
func StatString(a lakehouse.Add, col string) (lo, hi string) {
	lo, hi, _ = dayRange(a, col)
	return lo, hi
}

// EncodeUnits renders units as the elements of a unit PCollection.
func EncodeUnits(units []Unit) ([]string, error) {
	out := make([]string, 0, len(units))
	for _, u := range units {
		e, err := EncodeUnit(u)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ReadUnit decodes a unit element and, holding a worker slot, calls fn for
// every row of the unit's files whose week (weekOf) is one of weeks: a
// compacted file may hold rows of weeks outside the selection. It returns
// the unit.
func ReadUnit[T any](ctx context.Context, tab *lakehouse.Table, partCols, weeks []string, elem string,
	weekOf func(*T) string, fn func(*T) error) (Unit, error) {
	u, err := DecodeUnit(elem)
	if err != nil {
		return u, err
	}
	release, err := AcquireSlot(ctx)
	if err != nil {
		return u, err
	}
	defer release()
	selected := make(map[string]bool, len(weeks))
	for _, w := range weeks {
		selected[w] = true
	}
	for _, a := range u.Files {
		for r, err := range ReadFile[T](ctx, tab, partCols, a) {
			if err != nil {
				return u, err
			}
			if !selected[weekOf(&r)] {
				continue
			}
			if err := fn(&r); err != nil {
				return u, err
			}
		}
	}
	return u, nil
}
