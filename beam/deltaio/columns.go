package deltaio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// Column holds the values of one column of a row group, typed: exactly one
// of Int64, Int32, Float64, Bool or Str is set, by the column's physical
// type. A list column (one repetition level) has Off: row i holds the
// values [Off[i], Off[i+1]). A null value of a scalar column reads as the
// zero value. Strings are fresh memory (they share nothing with the file).
type Column struct {
	Name    string
	Int64   []int64
	Int32   []int32
	Float64 []float64
	Bool    []bool
	Str     []string
	Off     []int32
}

// Batch is one row group of a data file, as the columns a reader asked for.
type Batch struct {
	Rows int
	Cols []Column // in the order asked for
}

// ReadColumns reads the named columns of one data file of tab, one row
// group at a time, and calls fn with each (the batch is valid during the
// call only; the strings and slices it holds stay valid after). A partition
// column reads as its partition value. It is the fast path of the readers
// that scan whole tables (aggregate, features): values go from the pages
// into typed slices without per-row reflection.
func ReadColumns(ctx context.Context, tab *lakehouse.Table, partCols []string, a lakehouse.Add, cols []string, fn func(*Batch) error) error {
	key, err := lakehouse.FilePath(a.Path)
	if err != nil {
		return fmt.Errorf("deltaio: %w", err)
	}
	var ra io.ReaderAt
	var size int64
	if a.Size > 0 && a.Size <= wholeFileBytes {
		b, err := tab.Store().Get(ctx, key)
		if err != nil {
			return fmt.Errorf("deltaio: read %s: %w", key, err)
		}
		ra, size = bytes.NewReader(b), int64(len(b))
	} else {
		r, err := tab.Store().Open(ctx, key)
		if err != nil {
			return fmt.Errorf("deltaio: read %s: %w", key, err)
		}
		defer r.Close()
		ra, size = r, r.Size()
	}
	f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("deltaio: read %s: %w", key, err)
	}
	isPart := map[string]bool{}
	for _, c := range partCols {
		isPart[c] = true
	}
	leaves := make([]parquet.LeafColumn, len(cols))
	for i, c := range cols {
		if isPart[c] {
			continue
		}
		l, ok := leafOf(f.Schema(), c)
		if !ok {
			return fmt.Errorf("deltaio: read %s: no column %q", key, c)
		}
		if l.MaxRepetitionLevel > 1 {
			return fmt.Errorf("deltaio: read %s: column %q is nested deeper than a list", key, c)
		}
		leaves[i] = l
	}
	vbuf := make([]parquet.Value, 4096)
	for _, rg := range f.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(rg.NumRows())
		b := &Batch{Rows: n, Cols: make([]Column, len(cols))}
		chunks := rg.ColumnChunks()
		for i, c := range cols {
			b.Cols[i].Name = c
			if isPart[c] {
				v := a.PartitionValues[c]
				s := make([]string, n)
				for j := range s {
					s[j] = v
				}
				b.Cols[i].Str = s
				continue
			}
			if err := readChunk(chunks[leaves[i].ColumnIndex], leaves[i], n, vbuf, &b.Cols[i]); err != nil {
				return fmt.Errorf("deltaio: read %s: column %s: %w", key, c, err)
			}
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// leafOf finds the leaf column of a top-level column name (a list column's
// leaf is name.list.element).
func leafOf(s *parquet.Schema, name string) (parquet.LeafColumn, bool) {
	for _, path := range s.Columns() {
		if len(path) > 0 && path[0] == name {
			return s.Lookup(path...)
		}
	}
	return parquet.LeafColumn{}, false
}

// readChunk decodes one column chunk of n rows into c.
func readChunk(cc parquet.ColumnChunk, leaf parquet.LeafColumn, n int, vbuf []parquet.Value, c *Column) error {
	kind := leaf.Node.Type().Kind()
	list := leaf.MaxRepetitionLevel == 1
	capHint := n
	if list {
		c.Off = make([]int32, 0, n+1)
		// The chunk's value count (levels, including empty lists) bounds
		// the elements: no growing while pages are appended.
		capHint = max(int(cc.NumValues()), 0)
	}
	var arena []byte
	var strOff []int
	switch kind {
	case parquet.Int64:
		c.Int64 = make([]int64, 0, capHint)
	case parquet.Int32:
		c.Int32 = make([]int32, 0, capHint)
	case parquet.Double:
		c.Float64 = make([]float64, 0, capHint)
	case parquet.Boolean:
		c.Bool = make([]bool, 0, capHint)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		strOff = make([]int, 0, capHint+1)
		strOff = append(strOff, 0)
	default:
		return fmt.Errorf("physical type %v not supported", kind)
	}
	maxDef := leaf.MaxDefinitionLevel
	pages := cc.Pages()
	defer pages.Close()
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if ok, err := readPageData(p, kind, list, byte(maxDef), c, &arena, &strOff); ok || err != nil {
			parquet.Release(p)
			if err != nil {
				return err
			}
			continue
		}
		vr := p.Values()
		// Required scalars: typed reads, no boxing.
		if !list && maxDef == 0 {
			var rerr error
			switch kind {
			case parquet.Int64:
				if r, ok := vr.(parquet.Int64Reader); ok {
					c.Int64, rerr = readTyped(c.Int64, int(p.NumValues()), r.ReadInt64s)
					parquet.Release(p)
					if rerr != nil {
						return rerr
					}
					continue
				}
			case parquet.Int32:
				if r, ok := vr.(parquet.Int32Reader); ok {
					c.Int32, rerr = readTyped(c.Int32, int(p.NumValues()), r.ReadInt32s)
					parquet.Release(p)
					if rerr != nil {
						return rerr
					}
					continue
				}
			case parquet.Double:
				if r, ok := vr.(parquet.DoubleReader); ok {
					c.Float64, rerr = readTyped(c.Float64, int(p.NumValues()), r.ReadDoubles)
					parquet.Release(p)
					if rerr != nil {
						return rerr
					}
					continue
				}
			case parquet.Boolean:
				if r, ok := vr.(parquet.BooleanReader); ok {
					c.Bool, rerr = readTyped(c.Bool, int(p.NumValues()), r.ReadBooleans)
					parquet.Release(p)
					if rerr != nil {
						return rerr
					}
					continue
				}
			}
		}
		for {
			k, err := vr.ReadValues(vbuf)
			for _, v := range vbuf[:k] {
				if list && v.RepetitionLevel() == 0 {
					c.Off = append(c.Off, int32(max(len(c.Int64), len(c.Int32), len(c.Float64), len(c.Bool), len(strOff)-1)))
				}
				if v.DefinitionLevel() != maxDef {
					if list {
						continue // an empty or null list
					}
					v = parquet.Value{} // null scalar: the zero value
				}
				switch kind {
				case parquet.Int64:
					c.Int64 = append(c.Int64, v.Int64())
				case parquet.Int32:
					c.Int32 = append(c.Int32, v.Int32())
				case parquet.Double:
					c.Float64 = append(c.Float64, v.Double())
				case parquet.Boolean:
					c.Bool = append(c.Bool, v.Boolean())
				default:
					arena = append(arena, v.ByteArray()...)
					strOff = append(strOff, len(arena))
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				parquet.Release(p)
				return err
			}
		}
		parquet.Release(p)
	}
	values := max(len(c.Int64), len(c.Int32), len(c.Float64), len(c.Bool), len(strOff)-1)
	if strOff != nil {
		// The arena is never written again: the strings may alias it.
		c.Str = make([]string, len(strOff)-1)
		for i := range c.Str {
			if lo, hi := strOff[i], strOff[i+1]; hi > lo {
				c.Str[i] = unsafe.String(&arena[lo], hi-lo)
			}
		}
	}
	rows := values
	if list {
		rows = len(c.Off)
		c.Off = append(c.Off, int32(values))
	}
	if rows != n {
		return fmt.Errorf("%d rows decoded, the row group has %d", rows, n)
	}
	return nil
}

// readPageData is the fast path of readChunk for plain (not dictionary)
// pages of required strings and of lists of integers or doubles (the PPI
// and PHIST columns): it copies the page's decoded values and walks its
// levels, without boxing every value into a parquet.Value. It reports
// false, nil when the page needs the general path.
func readPageData(p parquet.Page, kind parquet.Kind, list bool, maxDef byte, c *Column, arena *[]byte, strOff *[]int) (bool, error) {
	if p.Dictionary() != nil {
		return false, nil
	}
	if !list {
		if maxDef != 0 || kind != parquet.ByteArray {
			return false, nil
		}
		d := p.Data()
		data, offs := d.ByteArray()
		if len(offs) == 0 {
			return len(data) == 0 && p.NumValues() == 0, nil
		}
		if int64(len(offs)-1) != p.NumValues() {
			return false, nil
		}
		base := len(*arena) - int(offs[0])
		*arena = append(*arena, data[offs[0]:offs[len(offs)-1]]...)
		for _, o := range offs[1:] {
			*strOff = append(*strOff, base+int(o))
		}
		return true, nil
	}
	rep, def := p.RepetitionLevels(), p.DefinitionLevels()
	if len(rep) != len(def) {
		return false, nil
	}
	d := p.Data()
	switch kind {
	case parquet.Int32:
		c.Int32, c.Off = appendList(c.Int32, c.Off, d.Int32(), rep, def, maxDef)
	case parquet.Int64:
		c.Int64, c.Off = appendList(c.Int64, c.Off, d.Int64(), rep, def, maxDef)
	case parquet.Double:
		c.Float64, c.Off = appendList(c.Float64, c.Off, d.Double(), rep, def, maxDef)
	default:
		return false, nil
	}
	if c.Off == nil {
		return true, fmt.Errorf("page of %d levels does not hold its values", len(def))
	}
	return true, nil
}

// appendList appends the values of one list page (its non-null values and
// its repetition and definition levels) to dst, starting a row at every
// repetition level 0. It returns a nil off when vals and the levels
// disagree.
func appendList[V any](dst []V, off []int32, vals []V, rep, def []byte, maxDef byte) ([]V, []int32) {
	j := 0
	for i, r := range rep {
		if r == 0 {
			off = append(off, int32(len(dst)))
		}
		if def[i] == maxDef {
			if j >= len(vals) {
				return dst, nil
			}
			dst = append(dst, vals[j])
			j++
		}
	}
	if j != len(vals) {
		return dst, nil
	}
	return dst, off
}

// readTyped appends the n values of a page read by read to dst.
func readTyped[V any](dst []V, n int, read func([]V) (int, error)) ([]V, error) {
	start := len(dst)
	dst = append(dst, make([]V, n)...)
	got := 0
	for got < n {
		k, err := read(dst[start+got:])
		got += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return dst, err
		}
		if k == 0 {
			break
		}
	}
	if got != n {
		return dst, fmt.Errorf("page holds %d values, %d read", n, got)
	}
	return dst, nil
}

// ReadUnitColumns decodes a unit element and, holding a worker slot, reads
// the columns of the unit's files (ReadColumns). When the week is a
// partition column, files of weeks outside weeks are skipped; otherwise
// fn gets every row and filters by its week column itself. It returns the
// unit.
func ReadUnitColumns(ctx context.Context, tab *lakehouse.Table, partCols, weeks []string, elem string, cols []string, fn func(*Batch) error) (Unit, error) {
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
		if w, ok := a.PartitionValues["week"]; ok && len(weeks) > 0 && !selected[w] {
			continue
		}
		if err := ReadColumns(ctx, tab, partCols, a, cols, fn); err != nil {
			return u, err
		}
	}
	return u, nil
}
