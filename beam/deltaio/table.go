package deltaio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// TableSpec names a Delta table under a lake root and says how to write it.
// It is plain data (exported fields) so DoFns can carry it.
type TableSpec struct {
	Lake string // lake root URI: a local path, file:// or s3://bucket/prefix
	Name string // table folder under the lake root, e.g. "flows"
	// PartitionBy are the partition columns used when the table is created.
	// An existing table keeps its own.
	PartitionBy []string
	// TargetFileSize, RowGroupRows and Compression go to lakehouse.Options
	// (zero: lakehouse defaults).
	TargetFileSize int64
	RowGroupRows   int
	Compression    string
	// CheckpointInterval goes to lakehouse.Options (0: default).
	CheckpointInterval int
}

// URI returns the table's URI.
func (t TableSpec) URI() string {
	return storage.JoinURI(t.Lake, t.Name)
}

// Options returns the lakehouse options of the table.
func (t TableSpec) Options() lakehouse.Options {
	return lakehouse.Options{
		TargetFileSize:     t.TargetFileSize,
		RowGroupRows:       t.RowGroupRows,
		Compression:        t.Compression,
		CheckpointInterval: t.CheckpointInterval,
		EngineInfo:         "telcotraffic-beam",
	}
}

// OpenStorage opens a store for a URI (a lake root, a table, or an input
// root). S3 settings come from the AWS_* environment of the process.
func OpenStorage(ctx context.Context, uri string) (storage.Storage, error) {
	st, err := storage.Open(ctx, uri, storage.Options{S3: storage.FromEnv(os.Getenv)})
	if err != nil {
		return nil, fmt.Errorf("deltaio: %w", err)
	}
	return st, nil
}

// Open opens the existing table.
func (t TableSpec) Open(ctx context.Context) (*lakehouse.Table, error) {
	st, err := OpenStorage(ctx, t.URI())
	if err != nil {
		return nil, err
	}
	tab, err := lakehouse.Open(ctx, wrapLocal(st), t.Options())
	if err != nil {
		return nil, fmt.Errorf("deltaio: open %s: %w", t.Name, err)
	}
	return tab, nil
}

// OpenOrCreate opens the table, creating it with row type T and
// PartitionBy if it does not exist. It reports (as a non-nil warning) when
// an existing table is partitioned differently from PartitionBy.
func OpenOrCreate[T any](ctx context.Context, t TableSpec) (tab *lakehouse.Table, warning error, err error) {
	st, err := OpenStorage(ctx, t.URI())
	if err != nil {
		return nil, nil, err
	}
	tab, err = lakehouse.OpenOrCreate[T](ctx, wrapLocal(st), lakehouse.CreateOptions{Name: t.Name, PartitionColumns: t.PartitionBy}, t.Options())
	if err != nil {
		return nil, nil, fmt.Errorf("deltaio: open %s: %w", t.Name, err)
	}
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("deltaio: %s: %w", t.Name, err)
	}
	if have := snap.Metadata.PartitionColumns; t.PartitionBy != nil && !slices.Equal(have, t.PartitionBy) {
		warning = fmt.Errorf("deltaio: table %s exists partitioned by %v; keeping that (asked for %v)", t.Name, have, t.PartitionBy)
	}
	return tab, warning, nil
}

// Exists reports whether the table has a Delta log.
func (t TableSpec) Exists(ctx context.Context) (bool, error) {
	_, err := t.Open(ctx)
	if errors.Is(err, lakehouse.ErrNotTable) {
		return false, nil
	}
	return err == nil, err
}
