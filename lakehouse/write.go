package lakehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/google/uuid"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// Writer writes data files of one table for the row type T without
// committing them. It is safe for concurrent use by several goroutines
// (each call writes its own files).
//
// Rows go straight from T into Parquet column buffers (parquet-go's typed
// write path: no per-value boxing); partition fields are left out of the
// files by struct-tag replacement, and the add statistics are taken from the
// column-chunk statistics of the written file.
type Writer[T any] struct {
	t     *Table
	codec *rowCodec
	// dropParts leaves the partition fields out of data files.
	dropParts []parquet.WriterOption
	// noListBounds skips the bounds of list leaves (page index, chunk and
	// page header statistics): the add statistics state top-level columns
	// only, and computing the bounds of every page of PPI-sized lists twice
	// is a tenth of a wide row's write cost.
	noListBounds []parquet.WriterOption
	// floats are the float and double columns, whose bounds are stated
	// only when they hold no NaN (see statsJSON).
	floats []floatField
	// bufs keeps file buffers for reuse. (Parquet writers are not reused:
	// parquet-go v0.32 drops path_in_schema from the footer of a file
	// written after Reset.)
	bufs sync.Pool
}

type floatField struct {
	name  string
	index []int
	// off is the byte offset of a top-level float64 field (kind
	// reflect.Float64), read without reflection per row; else 0 and kind
	// Invalid.
	off  uintptr
	kind reflect.Kind
}

// NewWriter checks T against the table schema at the latest version and
// returns a writer of data files.
func NewWriter[T any](ctx context.Context, t *Table) (*Writer[T], error) {
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return newWriterAt[T](t, snap)
}

func newWriterAt[T any](t *Table, snap *Snapshot) (*Writer[T], error) {
	codec, err := newRowCodec(reflect.TypeFor[T](), snap.Metadata.PartitionColumns)
	if err != nil {
		return nil, err
	}
	if err := codec.checkAgainst(&snap.Metadata); err != nil {
		return nil, err
	}
	w := &Writer[T]{t: t, codec: codec}
	for _, idx := range codec.partIndex {
		w.dropParts = append(w.dropParts, parquet.StructTag(`parquet:"-"`, codec.typ.FieldByIndex(idx).Name))
	}
	for _, path := range parquet.SchemaOf(reflect.New(codec.typ).Interface()).Columns() {
		if len(path) > 1 {
			w.noListBounds = append(w.noListBounds, parquet.SkipPageBounds(path...), parquet.SkipPageStatistics(path...))
		}
	}
	for _, col := range codec.dataLeaves {
		if col.deltaType != "float" && col.deltaType != "double" {
			continue
		}
		for i := 0; i < codec.typ.NumField(); i++ {
			if f := codec.typ.Field(i); f.IsExported() && parquetName(f) == col.name {
				ff := floatField{name: col.name, index: f.Index}
				if len(f.Index) == 1 && (f.Type.Kind() == reflect.Float64 || f.Type.Kind() == reflect.Float32) {
					ff.off, ff.kind = f.Offset, f.Type.Kind()
				}
				w.floats = append(w.floats, ff)
			}
		}
	}
	return w, nil
}

// PartitionValues returns the partition values of a row.
func (w *Writer[T]) PartitionValues(row *T) map[string]string {
	rv := reflect.ValueOf(row).Elem()
	pv := make(map[string]string, len(w.codec.partitions))
	for i, col := range w.codec.partitions {
		pv[col] = rv.FieldByIndex(w.codec.partIndex[i]).String()
	}
	return pv
}

// WriteDataFiles groups rows by partition and writes each group as one
// data file (more when a file reaches Options.TargetFileSize). It returns
// the add actions, ready for Table.Commit; nothing is committed.
func (w *Writer[T]) WriteDataFiles(ctx context.Context, rows []T) ([]Add, error) {
	groups := map[string][]T{}
	values := map[string]map[string]string{}
	var key strings.Builder
	for i := range rows {
		rv := reflect.ValueOf(&rows[i]).Elem()
		key.Reset()
		for _, idx := range w.codec.partIndex {
			key.WriteString(rv.FieldByIndex(idx).String())
			key.WriteByte(0)
		}
		k := key.String()
		if _, ok := values[k]; !ok {
			values[k] = w.PartitionValues(&rows[i])
		}
		groups[k] = append(groups[k], rows[i])
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Partitions are written in parallel, one goroutine per CPU.
	results := make([][]Add, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = w.WriteDataFile(ctx, values[k], groups[k])
		}()
	}
	wg.Wait()
	var adds []Add
	for i := range keys {
		if errs[i] != nil {
			return nil, errs[i]
		}
		adds = append(adds, results[i]...)
	}
	return adds, nil
}

// WriteDataFile writes rows that all belong to the partition
// partitionValues (every partition column must be named) as one Parquet
// data file, or several when Options.TargetFileSize is reached, and
// returns their add actions (path, size, stats, partition values). Nothing
// is committed: pass the adds to Table.Commit. Files of a failed or
// abandoned attempt are orphans that Vacuum removes.
func (w *Writer[T]) WriteDataFile(ctx context.Context, partitionValues map[string]string, rows []T) ([]Add, error) {
	if err := w.checkPartitionValues(partitionValues); err != nil {
		return nil, err
	}
	for i := range rows {
		rv := reflect.ValueOf(&rows[i]).Elem()
		for j, col := range w.codec.partitions {
			if v := rv.FieldByIndex(w.codec.partIndex[j]).String(); v != partitionValues[col] {
				return nil, fmt.Errorf("lakehouse: write: row %d has %s=%q, file partition has %q", i, col, v, partitionValues[col])
			}
		}
	}
	var adds []Add
	fw := w.newFile(partitionValues)
	for start := 0; start < len(rows); {
		// Row groups close at RowGroupRows; files at TargetFileSize,
		// checked once a row group is flushed.
		end := min(start+w.t.opts.RowGroupRows-fw.groupRows, len(rows))
		if err := fw.write(rows[start:end]); err != nil {
			return nil, err
		}
		start = end
		if fw.full() {
			a, err := fw.finish(ctx)
			if err != nil {
				return nil, err
			}
			adds = append(adds, a)
			fw = w.newFile(partitionValues)
		}
	}
	if fw.numRows == 0 && (len(adds) > 0 || len(rows) == 0) {
		fw.release()
		return adds, nil
	}
	a, err := fw.finish(ctx)
	if err != nil {
		return nil, err
	}
	return append(adds, a), nil
}

// checkPartitionValues checks that partitionValues names every partition
// column with a usable value.
func (w *Writer[T]) checkPartitionValues(partitionValues map[string]string) error {
	for _, col := range w.codec.partitions {
		v, ok := partitionValues[col]
		if !ok {
			return fmt.Errorf("lakehouse: write: no value for partition column %q", col)
		}
		if v == "" {
			return fmt.Errorf("lakehouse: write: empty value for partition column %q (null partitions are not supported)", col)
		}
		if !utf8.ValidString(v) {
			// Folder names would hold the raw bytes while readers look
			// for the log's (UTF-8) spelling: the file would be lost.
			return fmt.Errorf("lakehouse: write: value %q of partition column %q is not valid UTF-8", v, col)
		}
	}
	if len(partitionValues) != len(w.codec.partitions) {
		return fmt.Errorf("lakehouse: write: partition values %v, table partitioned by %v", partitionValues, w.codec.partitions)
	}
	return nil
}

// FileWriter streams rows of one partition into one data file: rows go
// into the Parquet column buffers as they come (compressed a page at a
// time), so a writer holds a partition's rows in columnar form rather than
// as row values. Not safe for concurrent use.
type FileWriter[T any] struct {
	fw *fileWriter[T]
}

// NewFileWriter starts a data file of the partition partitionValues (every
// partition column named). opts are extra Parquet writer options (e.g.
// parquet.PageBufferSize, to bound the memory of many open files).
func (w *Writer[T]) NewFileWriter(partitionValues map[string]string, opts ...parquet.WriterOption) (*FileWriter[T], error) {
	if err := w.checkPartitionValues(partitionValues); err != nil {
		return nil, err
	}
	return &FileWriter[T]{fw: w.newFileTo(partitionValues, new(bytes.Buffer), false, opts...)}, nil
}

// Write appends rows, which must all belong to the file's partition (the
// caller routes them by PartitionValues; they are not checked here). The
// rows are copied: the caller may reuse their memory when Write returns.
// Row groups close at Options.RowGroupRows.
func (f *FileWriter[T]) Write(rows []T) error {
	for start := 0; start < len(rows); {
		end := min(start+f.fw.w.t.opts.RowGroupRows-f.fw.groupRows, len(rows))
		if err := f.fw.write(rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// Rows returns the number of rows written to the file.
func (f *FileWriter[T]) Rows() int64 { return f.fw.numRows }

// Close finishes the file, stores it and returns its add action (nothing
// is committed). A file without rows is not stored: ok is false.
func (f *FileWriter[T]) Close(ctx context.Context) (a Add, ok bool, err error) {
	if f.fw.numRows == 0 {
		f.Discard()
		return Add{}, false, nil
	}
	a, err = f.fw.finish(ctx)
	return a, err == nil, err
}

// Discard drops the file without storing it.
func (f *FileWriter[T]) Discard() {
	if f.fw.buf != nil {
		f.fw.release()
	}
}

// fastZstd trades a little size for speed (delta-rs also defaults to a
// fast zstd level).
//
// Integer columns (and the elements of integer lists, such as the PPI
// sequences) are written DELTA_BINARY_PACKED rather than PLAIN: small
// bit-packed deltas hand zstd a fraction of the bytes, which costs less CPU
// than compressing 4 or 8 bytes per value (a parse of a generated day:
// 15.7 → 13.3 µs of CPU per row, files 6 % larger). Every Parquet reader we
// use (parquet-go, delta-rs/arrow-rs, Spark) decodes it.
var fastZstd = zstd.Codec{Level: zstd.SpeedFastest}

// fastSnappy is the SNAPPY codec with s2's fast snappy-compatible encoder
// (parquet-go's snappy codec calls klauspost's snappy.Encode, which is
// s2's slower "better" mode: on the flows of a generated day about half
// the encoding time, 2.4 % of the parse's CPU, for files 3 % larger). Any
// snappy decoder reads it.
type fastSnappy struct{}

func (fastSnappy) String() string { return "SNAPPY" }

func (fastSnappy) CompressionCodec() format.CompressionCodec { return format.Snappy }

func (fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	n := s2.MaxEncodedLen(len(src))
	if n < 0 {
		return nil, fmt.Errorf("lakehouse: snappy: page of %d bytes too large", len(src))
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	return s2.EncodeSnappy(dst[:n], src), nil
}

func (fastSnappy) Decode(dst, src []byte) ([]byte, error) {
	return snappy.Decode(dst, src)
}

type fileWriter[T any] struct {
	w         *Writer[T]
	pv        map[string]string
	buf       *bytes.Buffer
	pw        *parquet.GenericWriter[T]
	nan       map[string]bool // float columns holding a NaN
	numRows   int64
	groupRows int
	pool      bool // give buf back to w.bufs when done
}

func (w *Writer[T]) newFile(pv map[string]string) *fileWriter[T] {
	if b, ok := w.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return w.newFileTo(pv, b, true)
	}
	return w.newFileTo(pv, new(bytes.Buffer), true)
}

// newFileTo starts a file written into buf, given back to the pool when
// the file is done if pool is set. (A FileWriter, of which many are open
// at once, most of their life unflushed, gets an empty buffer rather than
// a pooled one, and does not pool it.)
func (w *Writer[T]) newFileTo(pv map[string]string, buf *bytes.Buffer, pool bool, extra ...parquet.WriterOption) *fileWriter[T] {
	fw := &fileWriter[T]{w: w, pv: pv, nan: map[string]bool{}, buf: buf, pool: pool}
	var codec compress.Codec = &fastZstd
	if w.t.opts.Compression == "snappy" {
		codec = fastSnappy{}
	}
	opts := append([]parquet.WriterOption{parquet.Compression(codec),
		parquet.CreatedBy("telcotraffic-lakehouse", "1", ""),
		parquet.DefaultEncodingFor(parquet.Int32, &parquet.DeltaBinaryPacked),
		parquet.DefaultEncodingFor(parquet.Int64, &parquet.DeltaBinaryPacked)}, w.dropParts...)
	opts = append(opts, w.noListBounds...)
	opts = append(opts, extra...)
	fw.pw = parquet.NewGenericWriter[T](fw.buf, opts...)
	return fw
}

// release returns the file buffer for reuse.
func (fw *fileWriter[T]) release() {
	if fw.pool && fw.buf.Cap() <= 64<<20 { // do not keep a large buffer alive
		fw.w.bufs.Put(fw.buf)
	}
	fw.buf = nil
}

func (fw *fileWriter[T]) write(rows []T) error {
	for _, f := range fw.w.floats {
		if fw.nan[f.name] {
			continue
		}
		for i := range rows {
			if isNaN(&rows[i], f) {
				fw.nan[f.name] = true
				break
			}
		}
	}
	if _, err := fw.pw.Write(rows); err != nil {
		return fmt.Errorf("lakehouse: write parquet: %w", err)
	}
	fw.numRows += int64(len(rows))
	fw.groupRows += len(rows)
	if fw.groupRows >= fw.w.t.opts.RowGroupRows {
		if err := fw.pw.Flush(); err != nil {
			return fmt.Errorf("lakehouse: write parquet: %w", err)
		}
		fw.groupRows = 0
	}
	return nil
}

// isNaN reports whether the float field f of row is NaN.
func isNaN[T any](row *T, f floatField) bool {
	switch f.kind {
	case reflect.Float64:
		return math.IsNaN(*(*float64)(unsafe.Add(unsafe.Pointer(row), f.off)))
	case reflect.Float32:
		return math.IsNaN(float64(*(*float32)(unsafe.Add(unsafe.Pointer(row), f.off))))
	}
	return math.IsNaN(reflect.ValueOf(row).Elem().FieldByIndex(f.index).Float())
}

func (fw *fileWriter[T]) full() bool { return int64(fw.buf.Len()) >= fw.w.t.opts.TargetFileSize }

func (fw *fileWriter[T]) finish(ctx context.Context) (Add, error) {
	if err := fw.pw.Close(); err != nil {
		return Add{}, fmt.Errorf("lakehouse: write parquet: %w", err)
	}
	t := fw.w.t
	ext := ".zstd.parquet"
	if t.opts.Compression == "snappy" {
		ext = ".snappy.parquet"
	}
	key := "part-00000-" + uuid.NewString() + "-c000" + ext
	if dir := partitionDir(fw.w.codec.partitions, fw.pv); dir != "" {
		key = dir + "/" + key
	}
	stats, err := fw.statsJSON()
	if err != nil {
		return Add{}, err
	}
	if err := t.store.Put(ctx, key, fw.buf.Bytes()); err != nil {
		return Add{}, fmt.Errorf("lakehouse: write %s: %w", key, err)
	}
	pv := make(map[string]string, len(fw.pv))
	for k, v := range fw.pv {
		pv[k] = v
	}
	a := Add{Path: encodePath(key), PartitionValues: pv, Size: int64(fw.buf.Len()),
		ModificationTime: t.opts.Now().UnixMilli(), DataChange: true, Stats: stats}
	fw.release()
	return a, nil
}

// colStats are the min, max and null count of one top-level column.
type colStats struct {
	name      string
	deltaType string
	min, max  parquet.Value
	has       bool
	nulls     int64
	nan       bool
}

// fileStats merges the column-chunk statistics of every row group of the
// closed file into per-column statistics of the top-level primitive
// columns.
func (fw *fileWriter[T]) fileStats() []*colStats {
	byName := map[string]*colStats{}
	var out []*colStats
	for _, col := range fw.w.codec.dataLeaves {
		if col.leaf < 0 {
			continue
		}
		s := &colStats{name: col.name, deltaType: col.deltaType, nan: fw.nan[col.name]}
		byName[col.name] = s
		out = append(out, s)
	}
	schema := fw.pw.Schema()
	for _, rg := range fw.pw.File().Metadata().RowGroups {
		for _, cc := range rg.Columns {
			md := &cc.MetaData
			if len(md.PathInSchema) != 1 {
				continue
			}
			s := byName[md.PathInSchema[0]]
			if s == nil {
				continue
			}
			leaf, _ := schema.Lookup(md.PathInSchema...)
			typ := leaf.Node.Type()
			s.nulls += md.Statistics.NullCount
			if md.Statistics.MinValue == nil || md.Statistics.MaxValue == nil {
				continue
			}
			lo := typ.Kind().Value(md.Statistics.MinValue).Clone()
			hi := typ.Kind().Value(md.Statistics.MaxValue).Clone()
			if !s.has {
				s.min, s.max, s.has = lo, hi, true
				continue
			}
			if typ.Compare(lo, s.min) < 0 {
				s.min = lo
			}
			if typ.Compare(hi, s.max) > 0 {
				s.max = hi
			}
		}
	}
	return out
}

const statsStringPrefix = 32

// statsJSON renders exact statistics. A bound that cannot be stated
// exactly is left out (never a wrong one: readers skip files by them).
func (fw *fileWriter[T]) statsJSON() (string, error) {
	type statsDoc struct {
		NumRecords int64          `json:"numRecords"`
		MinValues  map[string]any `json:"minValues"`
		MaxValues  map[string]any `json:"maxValues"`
		NullCount  map[string]any `json:"nullCount"`
	}
	d := statsDoc{NumRecords: fw.numRows, MinValues: map[string]any{}, MaxValues: map[string]any{}, NullCount: map[string]any{}}
	for _, s := range fw.fileStats() {
		d.NullCount[s.name] = s.nulls
		if !s.has || s.nan {
			continue
		}
		lo, hi, ok := statBounds(s)
		if !ok {
			continue
		}
		if lo != nil {
			d.MinValues[s.name] = lo
		}
		if hi != nil {
			d.MaxValues[s.name] = hi
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("lakehouse: stats: %w", err)
	}
	return string(b), nil
}

func statBounds(s *colStats) (lo, hi any, ok bool) {
	switch s.deltaType {
	case "byte", "short", "integer":
		return s.min.Int32(), s.max.Int32(), true
	case "long":
		return s.min.Int64(), s.max.Int64(), true
	case "float":
		return s.min.Float(), s.max.Float(), true
	case "double":
		return s.min.Double(), s.max.Double(), true
	case "date":
		day := func(v parquet.Value) string {
			return time.Unix(int64(v.Int32())*86400, 0).UTC().Format("2006-01-02")
		}
		return day(s.min), day(s.max), true
	case "timestamp":
		// Delta stats are milliseconds: round min down and max up so
		// they stay true bounds.
		minT := time.UnixMicro(s.min.Int64()).UTC().Truncate(time.Millisecond)
		maxT := time.UnixMicro(s.max.Int64()).UTC()
		if t := maxT.Truncate(time.Millisecond); !t.Equal(maxT) {
			maxT = t.Add(time.Millisecond)
		}
		const layout = "2006-01-02T15:04:05.000Z"
		return minT.Format(layout), maxT.Format(layout), true
	case "string":
		minS, maxS := string(s.min.ByteArray()), string(s.max.ByteArray())
		if !utf8.ValidString(minS) || !utf8.ValidString(maxS) {
			return nil, nil, false
		}
		if utf8.RuneCountInString(minS) > statsStringPrefix {
			minS = string([]rune(minS)[:statsStringPrefix]) // a prefix is <= the value
		}
		var maxV any = maxS
		if utf8.RuneCountInString(maxS) > statsStringPrefix {
			maxV = nil // a truncated max would not bound the value
		}
		return minS, maxV, true
	}
	return nil, nil, false
}

// hiveEscape escapes a partition value for a directory name the way
// Spark's escapePathName does.
func hiveEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte("\"#%'*/:=?\\{}[]^ <>|", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// partitionDir renders "col=value/col2=value2".
func partitionDir(cols []string, pv map[string]string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = hiveEscape(c) + "=" + hiveEscape(pv[c])
	}
	return strings.Join(parts, "/")
}

// WriteOptions configure Write.
type WriteOptions struct {
	Mode Mode
	// Partitions selects what ReplaceWhere replaces; every row must fall
	// into one of them.
	Partitions []map[string]string
	// Txn makes the write idempotent (see Commit.Txn).
	Txn *Txn
}

// Write writes rows as data files and commits them in one transaction.
// With a Txn that is already committed it writes nothing.
func Write[T any](ctx context.Context, t *Table, rows []T, o WriteOptions) (CommitResult, error) {
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return CommitResult{}, err
	}
	if o.Txn != nil {
		if v, ok := snap.AppVersion(o.Txn.AppID); ok && v >= o.Txn.Version {
			return CommitResult{Version: snap.Version, Skipped: true}, nil
		}
	}
	w, err := newWriterAt[T](t, snap)
	if err != nil {
		return CommitResult{}, err
	}
	if o.Mode == ModeReplaceWhere {
		if len(o.Partitions) == 0 {
			return CommitResult{}, fmt.Errorf("lakehouse: replace-where without partitions")
		}
		for i := range rows {
			if pv := w.PartitionValues(&rows[i]); !matches(pv, o.Partitions) {
				return CommitResult{}, fmt.Errorf("lakehouse: replace-where: row %d (partition %v) is outside %v", i, pv, o.Partitions)
			}
		}
	}
	adds, err := w.WriteDataFiles(ctx, rows)
	if err != nil {
		return CommitResult{}, err
	}
	rv := snap.Version
	return t.Commit(ctx, Commit{Mode: o.Mode, Adds: adds, Partitions: o.Partitions, Txn: o.Txn, ReadVersion: &rv})
}

// Append writes rows as a blind append.
func Append[T any](ctx context.Context, t *Table, rows []T, txn *Txn) (CommitResult, error) {
	return Write(ctx, t, rows, WriteOptions{Mode: ModeAppend, Txn: txn})
}

// DeletePartitions removes every file of the given partitions in one
// DELETE commit.
func (t *Table) DeletePartitions(ctx context.Context, partitions []map[string]string, txn *Txn) (CommitResult, error) {
	if len(partitions) == 0 {
		return CommitResult{}, fmt.Errorf("lakehouse: delete: no partitions")
	}
	return t.Commit(ctx, Commit{Operation: "DELETE", Mode: ModeReplaceWhere, Partitions: partitions, Txn: txn,
		OperationParameters: map[string]any{"predicate": jsonString(partitions)}})
}
