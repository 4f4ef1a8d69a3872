package lakehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Op is a comparison of a Filter.
type Op int

// Comparisons.
const (
	Eq Op = iota
	Lt
	Le
	Gt
	Ge
	In
)

// Filter is a simple predicate "column op value" used to skip files: by
// partition values (exact) and by the min/max statistics of the add
// actions (files that cannot match are skipped; kept files may still hold
// other rows). Value is a string, an integer, a float64 or a time.Time;
// In uses Values.
type Filter struct {
	Column string
	Op     Op
	Value  any
	Values []any
}

type statsDoc struct {
	NumRecords int64                      `json:"numRecords"`
	MinValues  map[string]json.RawMessage `json:"minValues"`
	MaxValues  map[string]json.RawMessage `json:"maxValues"`
}

// keep reports whether a file may hold rows matching all filters.
func keep(a *Add, partCols []string, filters []Filter) bool {
	var st *statsDoc
	for _, f := range filters {
		isPart := false
		for _, c := range partCols {
			if c == f.Column {
				isPart = true
			}
		}
		if isPart {
			pv := a.PartitionValues[f.Column]
			if !matchValue(f, func(v any) (int, bool) { return strings.Compare(pv, fmt.Sprint(v)), true }) {
				return false
			}
			continue
		}
		if a.Stats == "" {
			continue
		}
		if st == nil {
			st = &statsDoc{}
			if json.Unmarshal([]byte(a.Stats), st) != nil {
				return true // unreadable stats never drop a file
			}
		}
		lo, okLo := st.MinValues[f.Column]
		hi, okHi := st.MaxValues[f.Column]
		// A file may match when lo <= v (for Eq/Le/Lt) and v <= hi.
		mayMatch := func(v any) bool {
			if okLo {
				if c, ok := compareJSON(lo, v); ok {
					switch f.Op {
					case Eq, In, Le:
						if c > 0 {
							return false
						}
					case Lt:
						if c >= 0 {
							return false
						}
					}
				}
			}
			if okHi {
				if c, ok := compareJSON(hi, v); ok {
					switch f.Op {
					case Eq, In, Ge:
						if c < 0 {
							return false
						}
					case Gt:
						if c <= 0 {
							return false
						}
					}
				}
			}
			return true
		}
		if f.Op == In {
			any := false
			for _, v := range f.Values {
				if mayMatch(v) {
					any = true
				}
			}
			if !any {
				return false
			}
		} else if !mayMatch(f.Value) {
			return false
		}
	}
	return true
}

// matchValue evaluates f with cmp(v) = sign(column - v).
func matchValue(f Filter, cmp func(any) (int, bool)) bool {
	test := func(v any) bool {
		c, ok := cmp(v)
		if !ok {
			return true
		}
		switch f.Op {
		case Eq, In:
			return c == 0
		case Lt:
			return c < 0
		case Le:
			return c <= 0
		case Gt:
			return c > 0
		case Ge:
			return c >= 0
		}
		return true
	}
	if f.Op == In {
		for _, v := range f.Values {
			if test(v) {
				return true
			}
		}
		return false
	}
	return test(f.Value)
}

// compareJSON compares a stats bound with a filter value: sign(bound - v).
func compareJSON(raw json.RawMessage, v any) (int, bool) {
	switch x := v.(type) {
	case string:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		return strings.Compare(s, x), true
	case time.Time:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, false
		}
		return t.Compare(x), true
	case int, int8, int16, int32, int64:
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return 0, false
		}
		want := reflect.ValueOf(v).Int()
		if i, err := n.Int64(); err == nil {
			return cmpOrdered(i, want), true
		}
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		return cmpOrdered(f, float64(want)), true
	case float32, float64:
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			return 0, false
		}
		return cmpOrdered(f, reflect.ValueOf(v).Float()), true
	}
	return 0, false
}

func cmpOrdered[N int64 | float64](a, b N) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// partitionFields finds the string fields of T that hold partition columns.
func partitionFields(typ reflect.Type, cols []string) ([][]int, error) {
	idx := make([][]int, len(cols))
	for i, col := range cols {
		for j := 0; j < typ.NumField(); j++ {
			f := typ.Field(j)
			if f.IsExported() && parquetName(f) == col {
				if f.Type.Kind() != reflect.String {
					return nil, fmt.Errorf("lakehouse: partition column %q must be a string field of %s", col, typ)
				}
				idx[i] = f.Index
			}
		}
	}
	return idx, nil
}

// Rows streams the rows of a snapshot into values of T, file by file and
// row group by row group; memory use is bounded by one row group, not the
// table. Files are pruned with filters (see Filter); partition columns are
// filled from the add actions. Columns of T missing from a file read as
// zero values. Stop early by breaking out of the loop.
func Rows[T any](ctx context.Context, t *Table, snap *Snapshot, filters ...Filter) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		typ := reflect.TypeFor[T]()
		if typ.Kind() != reflect.Struct {
			yield(zero, fmt.Errorf("lakehouse: row type %s is not a struct", typ))
			return
		}
		parts, err := partitionFields(typ, snap.Metadata.PartitionColumns)
		if err != nil {
			yield(zero, err)
			return
		}
		for _, a := range snap.Files(filters...) {
			if !readFile(ctx, t, a, parts, snap.Metadata.PartitionColumns, yield) {
				return
			}
		}
	}
}

func readFile[T any](ctx context.Context, t *Table, a Add, parts [][]int, cols []string, yield func(T, error) bool) bool {
	var zero T
	key, err := FilePath(a.Path)
	if err != nil {
		return yield(zero, err)
	}
	r, err := t.store.Open(ctx, key)
	if err != nil {
		return yield(zero, fmt.Errorf("lakehouse: read %s: %w", key, err))
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size())
	if err != nil {
		return yield(zero, fmt.Errorf("lakehouse: read %s: %w", key, err))
	}
	target := parquet.SchemaOf(new(T))
	conv, err := parquet.Convert(target, normalizeLists(f.Schema(), f.Schema().Name()))
	if err != nil {
		return yield(zero, fmt.Errorf("lakehouse: read %s: %w", key, err))
	}
	for _, rg := range f.RowGroups() {
		if !readRowGroup(ctx, key, parquet.ConvertRowGroup(rg, conv), a, parts, cols, yield) {
			return false
		}
	}
	return true
}

func readRowGroup[T any](ctx context.Context, key string, rg parquet.RowGroup, a Add, parts [][]int, cols []string, yield func(T, error) bool) bool {
	var zero T
	pr := parquet.NewGenericRowGroupReader[T](rg)
	defer pr.Close()
	buf := make([]T, 512)
	for {
		if err := ctx.Err(); err != nil {
			return yield(zero, err)
		}
		n, err := pr.Read(buf)
		for i := 0; i < n; i++ {
			rv := reflect.ValueOf(&buf[i]).Elem()
			for j, idx := range parts {
				if idx != nil {
					rv.FieldByIndex(idx).SetString(a.PartitionValues[cols[j]])
				}
			}
			if !yield(buf[i], nil) {
				return false
			}
		}
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return yield(zero, fmt.Errorf("lakehouse: read %s: %w", key, err))
		}
		clear(buf)
	}
}
