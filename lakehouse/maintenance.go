package lakehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// OptimizeResult reports a compaction.
type OptimizeResult struct {
	Version      int64 // the OPTIMIZE commit, or -1 when nothing was compacted
	FilesRemoved int
	FilesAdded   int
	// RowsCopied are the rows moved row group by row group (compressed
	// pages copied, not decoded); RowsRewritten were decoded and written
	// again (small row groups, files of an older schema).
	RowsCopied, RowsRewritten int64
}

// Optimize compacts, per partition, the files smaller than
// Options.TargetFileSize into as few files as the target allows, in one
// OPTIMIZE commit whose actions have dataChange=false (so streaming readers
// and concurrent appends are unaffected). Partitions with fewer than two
// small files are left alone. Rows are streamed: memory holds one row
// group of rows and the output file being written, whatever the
// partition's size.
func Optimize[T any](ctx context.Context, t *Table) (OptimizeResult, error) {
	return OptimizeWhere[T](ctx, t, nil)
}

// OptimizeWhere is Optimize restricted to the partitions whose values keep
// accepts (nil: every partition), e.g. the partitions of one closed week.
func OptimizeWhere[T any](ctx context.Context, t *Table, keep func(partitionValues map[string]string) bool) (OptimizeResult, error) {
	res := OptimizeResult{Version: -1}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return res, err
	}
	w, err := newWriterAt[T](t, snap)
	if err != nil {
		return res, err
	}
	groups := map[string][]Add{}
	for _, a := range snap.Files() {
		if a.Size >= t.opts.TargetFileSize || (keep != nil && !keep(a.PartitionValues)) {
			continue
		}
		k := partitionDir(snap.Metadata.PartitionColumns, a.PartitionValues)
		groups[k] = append(groups[k], a)
	}
	keys := make([]string, 0, len(groups))
	for k, g := range groups {
		if len(g) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var adds []Add
	var removes []Remove
	parts, err := partitionFields(w.codec.typ, snap.Metadata.PartitionColumns)
	if err != nil {
		return res, err
	}
	for _, k := range keys {
		g := groups[k]
		sort.Slice(g, func(i, j int) bool { return g[i].Path < g[j].Path })
		written, err := compactGroup(ctx, t, w, g, parts, snap.Metadata.PartitionColumns, &res)
		if err != nil {
			// The files written so far are orphans (never committed).
			return res, fmt.Errorf("lakehouse: optimize %s: %w", k, err)
		}
		for i := range written {
			written[i].DataChange = false
		}
		adds = append(adds, written...)
		for _, a := range g {
			removes = append(removes, Remove{Path: a.Path, DataChange: false})
		}
	}
	if len(removes) == 0 {
		return res, nil
	}
	rv := snap.Version
	cr, err := t.Commit(ctx, Commit{Operation: "OPTIMIZE", Adds: adds, Removes: removes, ReadVersion: &rv,
		OperationParameters: map[string]any{"targetSize": t.opts.TargetFileSize}})
	if err != nil {
		return res, err
	}
	res.Version, res.FilesRemoved, res.FilesAdded = cr.Version, len(removes), len(adds)
	return res, nil
}

// compactGroup moves the rows of one partition's files into new files of
// up to the target size and returns their adds (not committed). Files of
// the writer's schema move row group by row group (rowGroupPacker); the
// rows of any other file are decoded and written again, streamed: memory
// holds one row group of rows and the output file being written.
func compactGroup[T any](ctx context.Context, t *Table, w *Writer[T], files []Add, parts [][]int, partCols []string, res *OptimizeResult) ([]Add, error) {
	var adds []Add
	pv := files[0].PartitionValues
	fw := w.newFile(pv)
	finish := func() error {
		a, err := fw.finish(ctx)
		if err != nil {
			return err
		}
		adds = append(adds, a)
		fw = w.newFile(pv)
		return nil
	}
	pk := &rowGroupPacker[T]{t: t, w: w, fw: &fw, finish: finish}
	var rest []Add
	for _, a := range files {
		ok, err := pk.add(ctx, a)
		if err != nil {
			return nil, err
		}
		if !ok {
			rest = append(rest, a)
		}
	}
	res.RowsCopied += pk.copied
	res.RowsRewritten += pk.rewritten
	rows := make([]T, 0, t.opts.RowGroupRows)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		if err := fw.write(rows); err != nil {
			return err
		}
		clear(rows)
		rows = rows[:0]
		if fw.full() {
			return finish()
		}
		return nil
	}
	var err error
	for _, a := range rest {
		ok := readFile(ctx, t, a, parts, partCols, func(r T, e error) bool {
			if e != nil {
				err = e
				return false
			}
			rows = append(rows, r)
			res.RowsRewritten++
			if len(rows) >= t.opts.RowGroupRows-fw.groupRows {
				if err = flush(); err != nil {
					return false
				}
			}
			return true
		})
		if !ok {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if fw.numRows == 0 {
		fw.release()
		return adds, nil
	}
	a, err := fw.finish(ctx)
	if err != nil {
		return nil, err
	}
	return append(adds, a), nil
}

// rowGroupPacker moves the row groups of data files of the writer's schema
// into the file being written: a row group of at least half
// Options.RowGroupRows is copied as it is (its compressed pages copied and
// only the footer written anew: parquet-go's WriteRowGroup fast path, taken
// when type, codec, encodings and page index match the writer's; its chunk
// statistics come along, so a new file's add statistics are those of the
// rows it holds). Smaller ones (a day's file of a small app) are decoded and
// written again into row groups of RowGroupRows rows, so readers of the
// compacted file see few, large row groups. (parquet-go's column-wise
// packing of row groups, MergeRowGroups into WriteRowGroup, splits list
// rows across pages in v0.32, which its own reader then rejects.) A new
// file starts when one reaches the target size.
type rowGroupPacker[T any] struct {
	t      *Table
	w      *Writer[T]
	fw     **fileWriter[T]
	finish func() error // closes *fw and opens the next file

	buf               []T
	copied, rewritten int64
}

// add moves the row groups of data file a; it reports false, moving
// nothing, when the file's schema is not the writer's (the caller decodes
// its rows instead).
func (p *rowGroupPacker[T]) add(ctx context.Context, a Add) (bool, error) {
	key, err := FilePath(a.Path)
	if err != nil {
		return false, err
	}
	r, err := p.t.store.Open(ctx, key)
	if err != nil {
		return false, fmt.Errorf("lakehouse: read %s: %w", key, err)
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size(), parquet.SkipBloomFilters(true))
	if err != nil {
		return false, fmt.Errorf("lakehouse: read %s: %w", key, err)
	}
	if !parquet.EqualNodes(f.Schema(), (*p.fw).pw.Schema()) {
		return false, nil
	}
	nan := floatsWithoutBounds(a, p.w.floats)
	for _, rg := range f.RowGroups() {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		if rg.NumRows() >= int64(p.t.opts.RowGroupRows/2) {
			if err := p.copy(rg, nan); err != nil {
				return true, fmt.Errorf("lakehouse: copy %s: %w", key, err)
			}
			continue
		}
		if err := p.rewrite(rg); err != nil {
			return true, fmt.Errorf("lakehouse: read %s: %w", key, err)
		}
	}
	return true, nil
}

// copy appends row group rg as it is.
func (p *rowGroupPacker[T]) copy(rg parquet.RowGroup, nan []string) error {
	fw := *p.fw
	for _, name := range nan {
		fw.nan[name] = true
	}
	n, err := fw.pw.WriteRowGroup(rg)
	if err != nil {
		return err
	}
	if n != rg.NumRows() {
		return fmt.Errorf("%d rows of %d copied", n, rg.NumRows())
	}
	fw.numRows += n
	fw.groupRows = 0
	p.copied += n
	if fw.full() {
		return p.finish()
	}
	return nil
}

// rewrite decodes the rows of rg and writes them to the current row group.
// (Partition fields stay empty: the writer leaves them out of its files.)
func (p *rowGroupPacker[T]) rewrite(rg parquet.RowGroup) error {
	if p.buf == nil {
		p.buf = make([]T, 512)
	}
	pr := parquet.NewGenericRowGroupReader[T](rg)
	defer pr.Close()
	for {
		clear(p.buf)
		n, err := pr.Read(p.buf)
		if n > 0 {
			fw := *p.fw
			if werr := fw.write(p.buf[:n]); werr != nil {
				return werr
			}
			p.rewritten += int64(n)
			if fw.full() {
				if ferr := p.finish(); ferr != nil {
					return ferr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// floatsWithoutBounds returns the float columns whose bounds the add
// statistics of a leave out (a NaN among the values, or no statistics):
// a file made of its rows must leave them out too.
func floatsWithoutBounds(a Add, floats []floatField) []string {
	var st struct {
		MinValues map[string]any `json:"minValues"`
		MaxValues map[string]any `json:"maxValues"`
	}
	if a.Stats == "" || json.Unmarshal([]byte(a.Stats), &st) != nil {
		st.MinValues, st.MaxValues = nil, nil
	}
	var out []string
	for _, f := range floats {
		_, lo := st.MinValues[f.name]
		_, hi := st.MaxValues[f.name]
		if !lo || !hi {
			out = append(out, f.name)
		}
	}
	return out
}

// Vacuum deletes files under the table that the latest snapshot does not
// reference and that are older than retention: removed files by their
// tombstone's deletion time, never-committed files (orphans of failed
// writers) by their modification time. The log and hidden paths ("_x",
// ".x") are never touched. Retention must cover the longest write still
// in flight and any reader pinned to an older version. With dryRun nothing
// is deleted. It returns the deleted (or deletable) keys.
func (t *Table) Vacuum(ctx context.Context, retention time.Duration, dryRun bool) ([]string, error) {
	if retention < 0 {
		return nil, fmt.Errorf("lakehouse: vacuum: negative retention")
	}
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	cutoff := t.opts.Now().Add(-retention)
	objs, err := t.store.List(ctx, "", "")
	if err != nil {
		return nil, fmt.Errorf("lakehouse: vacuum: %w", err)
	}
	var out []string
	for _, o := range objs {
		if hidden(o.Key) {
			continue
		}
		if _, live := snap.files[o.Key]; live {
			continue
		}
		when := o.ModTime
		if r, ok := snap.tombstones[o.Key]; ok {
			when = time.UnixMilli(r.DeletionTimestamp)
		}
		if when.After(cutoff) {
			continue
		}
		if !dryRun {
			if err := t.store.Delete(ctx, o.Key); err != nil {
				return out, fmt.Errorf("lakehouse: vacuum: %w", err)
			}
		}
		out = append(out, o.Key)
	}
	return out, nil
}

func hidden(key string) bool {
	for _, seg := range strings.Split(key, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}
