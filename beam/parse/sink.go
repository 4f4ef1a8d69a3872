package parse

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// flowSink streams the good rows of one day file into one open data file
// per partition (at real volume a day has ≈170 app partitions): workers
// hand it a chunk's rows a partition at a time, and the rows go straight
// into that partition's Parquet column buffers (lakehouse.FileWriter),
// with no row values held in between. Memory stays bounded whatever the
// day's size:
//
//   - a file is closed when it holds fileRows rows;
//   - when the open files together hold openRows rows, the largest is
//     closed;
//   - each open file's pages are small (sinkPageBytes), so a file that
//     receives few rows holds little.
//
// An open row costs about a fifth of a buffered cesnet.Flow (its values
// packed in columns, most of them already compressed), so openRows is a
// multiple of the buffer bound the job is given (sinkOpenFactor × MaxRows).
// It is safe for concurrent use: each partition has a lock of its own.
type flowSink struct {
	table    *lakehouse.Table
	w        *lakehouse.Writer[cesnet.Flow]
	opts     []parquet.WriterOption
	fileRows int64
	openRows int64
	// offs are the byte offsets in cesnet.Flow of the partition columns
	// (strings), in table order.
	offs []uintptr

	open atomic.Int64 // rows in open files

	mu      sync.Mutex // guards the fields below
	parts   map[string]*sinkPart
	adds    []lakehouse.Add
	written int64
	err     error
}

// sinkPart is one partition of a flowSink.
type sinkPart struct {
	pv   map[string]string
	mu   sync.Mutex // guards fw
	fw   *lakehouse.FileWriter[cesnet.Flow]
	rows atomic.Int64 // rows in fw
}

const (
	// sinkOpenFactor × MaxRows rows may be held in open files (see flowSink).
	sinkOpenFactor = 4
	// sinkChunkBytes is the allocation unit of the compressed pages an open
	// file holds per column (parquet-go's default, 32 KiB, is mostly slack
	// when ≈170 files of ≈55 columns are open).
	sinkChunkBytes = 4 << 10
	// sinkPageBytes is the Parquet page buffer of an open file: a smaller
	// page than parquet-go's 256 KiB default, because every column of
	// every open file preallocates one (≈170 open files of ≈55 columns:
	// ≈150 MB at 16 KiB; 8 KiB saves ≈80 MB of peak on a 2 M-row day for
	// files 6 % larger).
	sinkPageBytes = 16 << 10
)

func newFlowSink(ctx context.Context, t *lakehouse.Table, fileRows, maxRows int) (*flowSink, error) {
	w, err := lakehouse.NewWriter[cesnet.Flow](ctx, t)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	offs, err := partitionOffsets(snap.Metadata.PartitionColumns)
	if err != nil {
		return nil, err
	}
	if fileRows <= 0 {
		fileRows = deltaio.DefaultFileRows
	}
	if maxRows <= 0 {
		maxRows = deltaio.DefaultMaxRows
	}
	opts := []parquet.WriterOption{parquet.PageBufferSize(sinkPageBytes),
		parquet.ColumnPageBuffers(parquet.NewChunkBufferPool(sinkChunkBytes))}
	return &flowSink{table: t, w: w, opts: opts,
		fileRows: int64(fileRows), openRows: int64(sinkOpenFactor) * int64(maxRows), offs: offs,
		parts: map[string]*sinkPart{}}, nil
}

// partitionOffsets returns the byte offsets in cesnet.Flow of the string
// fields holding the partition columns.
func partitionOffsets(cols []string) ([]uintptr, error) {
	typ := reflect.TypeFor[cesnet.Flow]()
	out := make([]uintptr, len(cols))
	for i, col := range cols {
		found := false
		for j := 0; j < typ.NumField(); j++ {
			f := typ.Field(j)
			name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
			if name == "" {
				name = f.Name
			}
			if f.IsExported() && name == col {
				if f.Type.Kind() != reflect.String {
					return nil, fmt.Errorf("parse: partition column %q is not a string", col)
				}
				out[i], found = f.Offset, true
			}
		}
		if !found {
			return nil, fmt.Errorf("parse: flows has no column %q", col)
		}
	}
	return out, nil
}

// appendKey appends the partition key of row to b.
func (s *flowSink) appendKey(b []byte, row *cesnet.Flow) []byte {
	for i, off := range s.offs {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, *(*string)(unsafe.Add(unsafe.Pointer(row), off))...)
	}
	return b
}

// part returns the partition of key (row is one of its rows).
func (s *flowSink) part(key string, row *cesnet.Flow) *sinkPart {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[key]
	if p == nil {
		pv := s.w.PartitionValues(row)
		for k, v := range pv {
			pv[k] = strings.Clone(v)
		}
		p = &sinkPart{pv: pv}
		s.parts[strings.Clone(key)] = p
	}
	return p
}

// write streams rows of the partition p into its open file (the rows are
// copied), closing files as the bounds require.
func (s *flowSink) write(ctx context.Context, p *sinkPart, rows []cesnet.Flow) error {
	p.mu.Lock()
	for len(rows) > 0 {
		if p.fw == nil {
			fw, err := s.w.NewFileWriter(p.pv, s.opts...)
			if err != nil {
				p.mu.Unlock()
				return fmt.Errorf("parse: %w", err)
			}
			p.fw = fw
		}
		n := min(int64(len(rows)), s.fileRows-p.fw.Rows())
		if err := p.fw.Write(rows[:n]); err != nil {
			p.mu.Unlock()
			return fmt.Errorf("parse: %w", err)
		}
		rows = rows[n:]
		p.rows.Add(n)
		s.open.Add(n)
		if p.fw.Rows() >= s.fileRows {
			if err := s.closeLocked(ctx, p); err != nil {
				p.mu.Unlock()
				return err
			}
		}
	}
	p.mu.Unlock()
	if s.open.Load() > s.openRows {
		return s.closeLargest(ctx)
	}
	return nil
}

// closeLocked closes p's open file (p.mu held).
func (s *flowSink) closeLocked(ctx context.Context, p *sinkPart) error {
	if p.fw == nil {
		return nil
	}
	fw, n := p.fw, p.rows.Load()
	p.fw = nil
	p.rows.Store(0)
	s.open.Add(-n)
	a, ok, err := fw.Close(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = fmt.Errorf("parse: %w", err)
		}
		return s.err
	}
	if ok {
		s.adds = append(s.adds, a)
		s.written += n
	}
	return nil
}

// closeLargest closes the open file holding the most rows.
func (s *flowSink) closeLargest(ctx context.Context) error {
	s.mu.Lock()
	var big *sinkPart
	for _, p := range s.parts {
		if big == nil || p.rows.Load() > big.rows.Load() {
			big = p
		}
	}
	s.mu.Unlock()
	if big == nil {
		return nil
	}
	big.mu.Lock()
	defer big.mu.Unlock()
	return s.closeLocked(ctx, big)
}

// Close closes every open file and returns the add actions of all data
// files the sink wrote, in path order.
func (s *flowSink) Close(ctx context.Context) ([]lakehouse.Add, error) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.parts))
	for k := range s.parts {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		p := s.parts[k]
		p.mu.Lock()
		err := s.closeLocked(ctx, p)
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	sort.Slice(s.adds, func(i, j int) bool { return s.adds[i].Path < s.adds[j].Path })
	return s.adds, nil
}

// Abort drops the open files and deletes every data file the sink wrote
// (none was committed).
func (s *flowSink) Abort(ctx context.Context) error {
	s.mu.Lock()
	parts := s.parts
	s.parts = map[string]*sinkPart{}
	adds := s.adds
	s.adds = nil
	s.mu.Unlock()
	for _, p := range parts {
		p.mu.Lock()
		if p.fw != nil {
			p.fw.Discard()
			p.fw = nil
		}
		p.mu.Unlock()
	}
	for _, a := range adds {
		fp, err := lakehouse.FilePath(a.Path)
		if err != nil {
			return fmt.Errorf("parse: abort: %w", err)
		}
		if err := s.table.Store().Delete(ctx, fp); err != nil {
			return fmt.Errorf("parse: abort: %w", err)
		}
	}
	return nil
}

// sinkBatch collects a worker's rows of one partition from one chunk.
// Their strings point into the chunk (valid until it is given back); their
// int lists are spans of the worker's arena (fixed up before writing, as
// the arena may move while it grows).
type sinkBatch struct {
	part  *sinkPart
	rows  []cesnet.Flow
	spans []int // arena offset of each row's lists
}

// batcher is one worker's side of a flowSink: it groups the decoded rows
// of several chunks by partition and hands each group to the sink at once
// (a Parquet write has a cost per call and per column, so rows are written
// dozens at a time rather than the few a chunk holds per partition). The
// chunks the rows point into are held until then.
type batcher struct {
	sink    *flowSink
	release func([]byte) // gives a held chunk buffer back
	batches map[string]*sinkBatch
	active  []*sinkBatch
	arena   []int32
	key     []byte
	held    [][]byte
	n       int // rows batched
}

const (
	// batchFlushRows is the number of rows after which a batcher writes
	// (a Tail chunk, the rest of a file, is written in such steps too).
	batchFlushRows = 1 << 13
	// batchHeldChunks bounds the chunks a batcher holds.
	batchHeldChunks = 8
)

// hold keeps a chunk buffer whose rows were batched, writing the batches
// when the bounds are reached.
func (b *batcher) hold(ctx context.Context, buf []byte) error {
	b.held = append(b.held, buf)
	if b.n >= batchFlushRows || len(b.held) >= batchHeldChunks {
		return b.flush(ctx)
	}
	return nil
}

func rowLists(f *cesnet.Flow) [8]*[]int32 {
	return [8]*[]int32{&f.PPIIPT, &f.PPIDir, &f.PPISize, &f.PPIPush,
		&f.PHistSrcSizes, &f.PHistDstSizes, &f.PHistSrcIPT, &f.PHistDstIPT}
}

// add batches a decoded row (its lists are copied; its strings must stay
// valid until flush).
func (b *batcher) add(ctx context.Context, row *cesnet.Flow) error {
	b.key = b.sink.appendKey(b.key[:0], row)
	bt := b.batches[string(b.key)]
	if bt == nil {
		if b.batches == nil {
			b.batches = map[string]*sinkBatch{}
		}
		bt = &sinkBatch{part: b.sink.part(string(b.key), row)}
		b.batches[string(b.key)] = bt
	}
	if len(bt.rows) == 0 {
		b.active = append(b.active, bt)
	}
	bt.spans = append(bt.spans, len(b.arena))
	for _, l := range rowLists(row) {
		b.arena = append(b.arena, *l...)
	}
	bt.rows = append(bt.rows, *row)
	b.n++
	if b.n >= batchFlushRows {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the batched rows to the sink and gives the held chunks
// back.
func (b *batcher) flush(ctx context.Context) error {
	defer func() {
		b.active, b.arena, b.n = b.active[:0], b.arena[:0], 0
		for _, buf := range b.held {
			b.release(buf)
		}
		b.held = b.held[:0]
	}()
	for _, bt := range b.active {
		for i := range bt.rows {
			off := bt.spans[i]
			for _, l := range rowLists(&bt.rows[i]) {
				n := len(*l)
				*l = b.arena[off : off+n : off+n]
				off += n
			}
		}
		err := b.sink.write(ctx, bt.part, bt.rows)
		bt.rows, bt.spans = bt.rows[:0], bt.spans[:0]
		if err != nil {
			return err
		}
	}
	return nil
}
