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

	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Writer writes data files of one table for the row type T without
// committing them. It is safe for concurrent use by several goroutines
// (each call writes its own files).
type Writer[T any] struct {
	t     *Table
	codec *rowCodec
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
	return &Writer[T]{t: t, codec: codec}, nil
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
	for _, col := range w.codec.partitions {
		v, ok := partitionValues[col]
		if !ok {
			return nil, fmt.Errorf("lakehouse: write: no value for partition column %q", col)
		}
		if v == "" {
			return nil, fmt.Errorf("lakehouse: write: empty value for partition column %q (null partitions are not supported)", col)
		}
	}
	if len(partitionValues) != len(w.codec.partitions) {
		return nil, fmt.Errorf("lakehouse: write: partition values %v, table partitioned by %v", partitionValues, w.codec.partitions)
	}
	for i := range rows {
		rv := reflect.ValueOf(&rows[i]).Elem()
		for j, col := range w.codec.partitions {
			if v := rv.FieldByIndex(w.codec.partIndex[j]).String(); v != partitionValues[col] {
				return nil, fmt.Errorf("lakehouse: write: row %d has %s=%q, file partition has %q", i, col, v, partitionValues[col])
			}
		}
	}
	fw := w.newFile(partitionValues)
	var adds []Add
	const batch = 256
	rowBuf := make([]parquet.Row, 0, batch)
	var scratch []parquet.Row
	for start := 0; start < len(rows); start += batch {
		end := min(start+batch, len(rows))
		rowBuf = rowBuf[:0]
		for i := start; i < end; i++ {
			k := i - start
			if k >= len(scratch) {
				scratch = append(scratch, nil)
			}
			full := w.codec.full.Deconstruct(scratch[k][:0], &rows[i])
			scratch[k] = full
			rowBuf = append(rowBuf, fw.project(full))
		}
		if err := fw.write(rowBuf); err != nil {
			return nil, err
		}
		if fw.full() {
			a, err := fw.finish(ctx)
			if err != nil {
				return nil, err
			}
			adds = append(adds, a)
			fw = w.newFile(partitionValues)
		}
	}
	if fw.numRows > 0 || len(adds) == 0 && len(rows) > 0 {
		a, err := fw.finish(ctx)
		if err != nil {
			return nil, err
		}
		adds = append(adds, a)
	}
	return adds, nil
}

// fastZstd trades a little size for speed (delta-rs also defaults to a
// fast zstd level).
var fastZstd = zstd.Codec{Level: zstd.SpeedFastest}

// colStats tracks min, max and null count of one top-level column.
type colStats struct {
	name      string
	deltaType string
	typ       parquet.Type
	min, max  parquet.Value
	has       bool
	nulls     int64
	nan       bool
}

type fileWriter struct {
	t         *Table
	codec     *rowCodec
	pv        map[string]string
	buf       bytes.Buffer
	pw        *parquet.GenericWriter[any]
	stats     map[int]*colStats // by data leaf index
	numRows   int64
	groupRows int
	slab      []parquet.Value // backing store of projected rows
}

func (w *Writer[T]) newFile(pv map[string]string) *fileWriter {
	fw := &fileWriter{t: w.t, codec: w.codec, pv: pv, stats: map[int]*colStats{}}
	var codec compress.Codec = &fastZstd
	if w.t.opts.Compression == "snappy" {
		codec = &parquet.Snappy
	}
	fw.pw = parquet.NewGenericWriter[any](&fw.buf, w.codec.data, parquet.Compression(codec),
		parquet.CreatedBy("telcotraffic-lakehouse", "1", ""))
	for _, col := range w.codec.dataLeaves {
		if col.leaf < 0 {
			continue
		}
		idx := w.codec.remap[col.leaf]
		lc, _ := w.codec.data.Lookup(col.name)
		fw.stats[idx] = &colStats{name: col.name, deltaType: col.deltaType, typ: lc.Node.Type()}
	}
	return fw
}

// project drops partition columns from a full row, renumbering leaves.
func (fw *fileWriter) project(full parquet.Row) parquet.Row {
	if cap(fw.slab)-len(fw.slab) < len(full) {
		fw.slab = make([]parquet.Value, 0, max(4096, len(full)))
	}
	out := fw.slab[len(fw.slab):len(fw.slab)]
	for _, v := range full {
		idx := fw.codec.remap[v.Column()]
		if idx < 0 {
			continue
		}
		v = v.Level(v.RepetitionLevel(), v.DefinitionLevel(), idx)
		if s := fw.stats[idx]; s != nil {
			s.observe(v)
		}
		out = append(out, v)
	}
	fw.slab = fw.slab[:len(fw.slab)+len(out)]
	return out[:len(out):len(out)]
}

func (s *colStats) observe(v parquet.Value) {
	if v.IsNull() {
		s.nulls++
		return
	}
	if (s.deltaType == "double" && math.IsNaN(v.Double())) || (s.deltaType == "float" && math.IsNaN(float64(v.Float()))) {
		s.nan = true
		return
	}
	if !s.has {
		s.min, s.max, s.has = v.Clone(), v.Clone(), true
		return
	}
	if s.typ.Compare(v, s.min) < 0 {
		s.min = v.Clone()
	}
	if s.typ.Compare(v, s.max) > 0 {
		s.max = v.Clone()
	}
}

func (fw *fileWriter) write(rows []parquet.Row) error {
	if _, err := fw.pw.WriteRows(rows); err != nil {
		return fmt.Errorf("lakehouse: write parquet: %w", err)
	}
	fw.numRows += int64(len(rows))
	fw.groupRows += len(rows)
	if fw.groupRows >= fw.t.opts.RowGroupRows {
		if err := fw.pw.Flush(); err != nil {
			return fmt.Errorf("lakehouse: write parquet: %w", err)
		}
		fw.groupRows = 0
	}
	return nil
}

func (fw *fileWriter) full() bool { return int64(fw.buf.Len()) >= fw.t.opts.TargetFileSize }

func (fw *fileWriter) finish(ctx context.Context) (Add, error) {
	if err := fw.pw.Close(); err != nil {
		return Add{}, fmt.Errorf("lakehouse: write parquet: %w", err)
	}
	ext := ".zstd.parquet"
	if fw.t.opts.Compression == "snappy" {
		ext = ".snappy.parquet"
	}
	key := "part-00000-" + uuid.NewString() + "-c000" + ext
	if dir := partitionDir(fw.codec.partitions, fw.pv); dir != "" {
		key = dir + "/" + key
	}
	stats, err := fw.statsJSON()
	if err != nil {
		return Add{}, err
	}
	if err := fw.t.store.Put(ctx, key, fw.buf.Bytes()); err != nil {
		return Add{}, fmt.Errorf("lakehouse: write %s: %w", key, err)
	}
	pv := make(map[string]string, len(fw.pv))
	for k, v := range fw.pv {
		pv[k] = v
	}
	return Add{Path: encodePath(key), PartitionValues: pv, Size: int64(fw.buf.Len()),
		ModificationTime: fw.t.opts.Now().UnixMilli(), DataChange: true, Stats: stats}, nil
}

const statsStringPrefix = 32

// statsJSON renders exact statistics. A bound that cannot be stated
// exactly is left out (never a wrong one: readers skip files by them).
func (fw *fileWriter) statsJSON() (string, error) {
	type statsDoc struct {
		NumRecords int64          `json:"numRecords"`
		MinValues  map[string]any `json:"minValues"`
		MaxValues  map[string]any `json:"maxValues"`
		NullCount  map[string]any `json:"nullCount"`
	}
	d := statsDoc{NumRecords: fw.numRows, MinValues: map[string]any{}, MaxValues: map[string]any{}, NullCount: map[string]any{}}
	for _, s := range fw.stats {
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
