package deltaio

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sync/semaphore"

	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// Default buffer sizes: a data file holds at most DefaultFileRows rows
// (more files, not larger ones, when a partition is big), and a Buffer holds
// at most DefaultMaxRows rows over all partitions (about 1.2 KB each for a
// flow, so ~80 MB per work unit, ~160 MB with the rows being written).
const (
	DefaultFileRows = 65536
	DefaultMaxRows  = 65536
)

// Buffer collects rows of one table per partition and writes them as data
// files (without committing) so that memory stays bounded:
//
//   - a partition is written when it holds FileRows rows;
//   - when all partitions together hold MaxRows rows, the largest is written;
//   - Close writes the rest, in partition order.
//
// Rows handed to Add are kept until written: they must not share slices
// with rows the caller reuses.
type Buffer[T any] struct {
	table    *lakehouse.Table
	w        *lakehouse.Writer[T]
	fileRows int
	maxRows  int
	// fields are the byte offsets in T of its partition column fields
	// (strings), in table order: reading them by offset costs nothing per
	// row, where reflection cost about a tenth of a parse's buffering.
	fields []uintptr
	parts  map[string]*partBuf[T]
	total  int
	key    []byte

	// Files are written by up to Concurrency goroutines (a local fsync or
	// an S3 PUT is mostly waiting); rows being written count against a
	// second MaxRows budget, so at most 2×MaxRows rows are held.
	inflight *semaphore.Weighted
	slots    chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex // guards the fields below
	adds     []lakehouse.Add
	written  int64
	err      error
}

// Concurrency is the number of data files a Buffer writes at once.
const Concurrency = 4

type partBuf[T any] struct {
	rows []T
}

// NewBuffer returns a buffer writing to t (its schema is checked against T
// at the latest version). fileRows and maxRows <= 0 take the defaults.
func NewBuffer[T any](ctx context.Context, t *lakehouse.Table, fileRows, maxRows int) (*Buffer[T], error) {
	w, err := lakehouse.NewWriter[T](ctx, t)
	if err != nil {
		return nil, fmt.Errorf("deltaio: %w", err)
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("deltaio: %w", err)
	}
	fields, err := offsetsOf(reflect.TypeFor[T](), snap.Metadata.PartitionColumns)
	if err != nil {
		return nil, err
	}
	if fileRows <= 0 {
		fileRows = DefaultFileRows
	}
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	return &Buffer[T]{table: t, w: w, fileRows: fileRows, maxRows: maxRows, fields: fields, parts: map[string]*partBuf[T]{},
		inflight: semaphore.NewWeighted(int64(maxRows)), slots: make(chan struct{}, Concurrency)}, nil
}

// parquetName returns the column name of a struct field.
func parquetName(f reflect.StructField) string {
	tag := f.Tag.Get("parquet")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

// fieldsOf finds the string fields of typ holding the given columns.
func fieldsOf(typ reflect.Type, cols []string) ([][]int, error) {
	out := make([][]int, len(cols))
	for i, col := range cols {
		for j := 0; j < typ.NumField(); j++ {
			f := typ.Field(j)
			if f.IsExported() && parquetName(f) == col {
				if f.Type.Kind() != reflect.String {
					return nil, fmt.Errorf("deltaio: column %q of %s is not a string", col, typ)
				}
				out[i] = f.Index
			}
		}
		if out[i] == nil {
			return nil, fmt.Errorf("deltaio: %s has no column %q", typ, col)
		}
	}
	return out, nil
}

// offsetsOf returns the byte offsets in typ of the fields fieldsOf finds
// (top-level fields, so an offset is exact).
func offsetsOf(typ reflect.Type, cols []string) ([]uintptr, error) {
	fields, err := fieldsOf(typ, cols)
	if err != nil {
		return nil, err
	}
	out := make([]uintptr, len(fields))
	for i, idx := range fields {
		out[i] = typ.Field(idx[0]).Offset
	}
	return out, nil
}

// Add buffers one row, writing data files as the limits require.
func (b *Buffer[T]) Add(ctx context.Context, row T) error {
	b.key = b.key[:0]
	for i, off := range b.fields {
		if i > 0 {
			b.key = append(b.key, 0)
		}
		b.key = append(b.key, *(*string)(unsafe.Add(unsafe.Pointer(&row), off))...)
	}
	p := b.parts[string(b.key)]
	if p == nil {
		p = &partBuf[T]{}
		b.parts[string(b.key)] = p
	}
	p.rows = append(p.rows, row)
	b.total++
	if len(p.rows) >= b.fileRows {
		return b.write(ctx, p)
	}
	if b.total >= b.maxRows {
		var big *partBuf[T]
		for _, q := range b.parts {
			if big == nil || len(q.rows) > len(big.rows) {
				big = q
			}
		}
		return b.write(ctx, big)
	}
	return nil
}

func (b *Buffer[T]) write(ctx context.Context, p *partBuf[T]) error {
	if err := b.firstErr(); err != nil {
		return err
	}
	rows := p.rows
	if len(rows) == 0 {
		return nil
	}
	// Drop the rows from the partition (not just truncate): a kept
	// backing array per partition would defeat the memory bound.
	p.rows = nil
	b.total -= len(rows)
	weight := int64(min(len(rows), b.maxRows))
	if err := b.inflight.Acquire(ctx, weight); err != nil {
		return err
	}
	b.slots <- struct{}{}
	b.wg.Add(1)
	go func() {
		defer func() {
			<-b.slots
			b.inflight.Release(weight)
			b.wg.Done()
		}()
		pv := b.w.PartitionValues(&rows[0])
		adds, err := b.w.WriteDataFile(ctx, pv, rows)
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			if b.err == nil {
				b.err = fmt.Errorf("deltaio: %w", err)
			}
			return
		}
		b.adds = append(b.adds, adds...)
		b.written += int64(len(rows))
	}()
	return nil
}

func (b *Buffer[T]) firstErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Close writes every buffered row and returns the add actions of all data
// files written by the buffer.
func (b *Buffer[T]) Close(ctx context.Context) ([]lakehouse.Add, error) {
	keys := make([]string, 0, len(b.parts))
	for k := range b.parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := b.write(ctx, b.parts[k]); err != nil {
			b.wg.Wait()
			return nil, err
		}
	}
	b.parts = map[string]*partBuf[T]{}
	b.wg.Wait()
	if err := b.firstErr(); err != nil {
		return nil, err
	}
	sort.Slice(b.adds, func(i, j int) bool { return b.adds[i].Path < b.adds[j].Path })
	return b.adds, nil
}

// Abort drops the buffered rows, waits for the files being written and
// deletes every data file the buffer wrote (none was committed).
func (b *Buffer[T]) Abort(ctx context.Context) error {
	b.parts = map[string]*partBuf[T]{}
	b.total = 0
	b.wg.Wait()
	b.mu.Lock()
	adds := b.adds
	b.adds = nil
	b.mu.Unlock()
	for _, a := range adds {
		p, err := lakehouse.FilePath(a.Path)
		if err != nil {
			return fmt.Errorf("deltaio: abort: %w", err)
		}
		if err := b.table.Store().Delete(ctx, p); err != nil {
			return fmt.Errorf("deltaio: abort: %w", err)
		}
	}
	return nil
}

// Written returns the number of rows written so far.
func (b *Buffer[T]) Written() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.written
}

// Buffered returns the number of rows waiting to be written.
func (b *Buffer[T]) Buffered() int { return b.total }
