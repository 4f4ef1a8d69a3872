package lakehouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// OptimizeResult reports a compaction.
type OptimizeResult struct {
	Version      int64 // the OPTIMIZE commit, or -1 when nothing was compacted
	FilesRemoved int
	FilesAdded   int
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
		written, err := compactGroup(ctx, t, w, g, parts, snap.Metadata.PartitionColumns)
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
	return OptimizeResult{Version: cr.Version, FilesRemoved: len(removes), FilesAdded: len(adds)}, nil
}

// compactGroup streams the rows of one partition's files into new files
// of up to the target size and returns their adds (not committed).
func compactGroup[T any](ctx context.Context, t *Table, w *Writer[T], files []Add, parts [][]int, partCols []string) ([]Add, error) {
	var adds []Add
	fw := w.newFile(files[0].PartitionValues)
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
			a, err := fw.finish(ctx)
			if err != nil {
				return err
			}
			adds = append(adds, a)
			fw = w.newFile(files[0].PartitionValues)
		}
		return nil
	}
	var err error
	for _, a := range files {
		ok := readFile(ctx, t, a, parts, partCols, func(r T, e error) bool {
			if e != nil {
				err = e
				return false
			}
			rows = append(rows, r)
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
