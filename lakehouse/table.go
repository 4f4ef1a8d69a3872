package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Options tune a Table. The zero value is usable; Open copies and
// validates it.
type Options struct {
	// CheckpointInterval writes a checkpoint after every N-th commit
	// (default 10; negative disables).
	CheckpointInterval int
	// TargetFileSize is the size at which a data file is closed and the
	// next one started (default 128 MiB). It is checked at row-group
	// boundaries, so files overshoot by up to one row group.
	TargetFileSize int64
	// RowGroupRows is the number of rows per Parquet row group (default 65536).
	RowGroupRows int
	// Compression is "zstd" (default) or "snappy".
	Compression string
	// MaxCommitAttempts bounds retries after losing a commit race (default 1000).
	MaxCommitAttempts int
	// EngineInfo goes into commitInfo.engineInfo.
	EngineInfo string
	// Now is the clock (default time.Now); tests pin it.
	Now func() time.Time
}

// Validate fills defaults and checks the options.
func (o *Options) Validate() error {
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 10
	}
	if o.TargetFileSize == 0 {
		o.TargetFileSize = 128 << 20
	}
	if o.RowGroupRows == 0 {
		o.RowGroupRows = 65536
	}
	if o.Compression == "" {
		o.Compression = "zstd"
	}
	if o.MaxCommitAttempts == 0 {
		o.MaxCommitAttempts = 1000
	}
	if o.EngineInfo == "" {
		o.EngineInfo = "telcotraffic-lakehouse"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.Compression != "zstd" && o.Compression != "snappy":
		return fmt.Errorf("lakehouse: compression %q (want zstd or snappy)", o.Compression)
	case o.TargetFileSize < 0 || o.RowGroupRows < 0 || o.MaxCommitAttempts < 0:
		return errors.New("lakehouse: negative option")
	}
	return nil
}

// Table is a Delta table on a Storage rooted at the table folder.
type Table struct {
	store storage.Storage
	opts  Options
}

// Store returns the table's storage.
func (t *Table) Store() storage.Storage { return t.store }

// Open opens an existing table.
func Open(ctx context.Context, store storage.Storage, opts Options) (*Table, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	t := &Table{store: store, opts: opts}
	l, err := t.listLog(ctx, 0)
	if err != nil {
		return nil, err
	}
	if l.latest < 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotTable, store.URI())
	}
	return t, nil
}

// CreateOptions describe a new table.
type CreateOptions struct {
	Name             string
	Description      string
	PartitionColumns []string          // string fields of the row type
	Configuration    map[string]string // table properties, e.g. delta.appendOnly
}

// Create creates an empty table whose schema is the row type T (its
// parquet tags name the columns; see the package doc for type mapping).
// It fails with ErrTableExists if a table is already there.
func Create[T any](ctx context.Context, store storage.Storage, c CreateOptions, opts Options) (*Table, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	codec, err := newRowCodec(reflect.TypeFor[T](), c.PartitionColumns)
	if err != nil {
		return nil, err
	}
	schema, err := codec.schemaString()
	if err != nil {
		return nil, err
	}
	t := &Table{store: store, opts: opts}
	now := opts.Now().UnixMilli()
	conf := maps.Clone(c.Configuration)
	if conf == nil {
		conf = map[string]string{}
	}
	parts := slices.Clone(c.PartitionColumns)
	if parts == nil {
		parts = []string{}
	}
	meta := &Metadata{
		ID: uuid.NewString(), Name: c.Name, Description: c.Description,
		Format:       Format{Provider: "parquet", Options: map[string]string{}},
		SchemaString: schema, PartitionColumns: parts, Configuration: conf, CreatedTime: &now,
	}
	info := t.commitInfo(now, "CREATE TABLE", map[string]any{"mode": "ErrorIfExists", "partitionBy": jsonString(parts)}, -1, true)
	data, err := encodeActions([]Action{
		{CommitInfo: info},
		{Protocol: &Protocol{MinReaderVersion: 1, MinWriterVersion: 2}},
		{Metadata: meta},
	})
	if err != nil {
		return nil, err
	}
	if err := store.PutIfAbsent(ctx, commitKey(0), data); err != nil {
		if errors.Is(err, storage.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrTableExists, store.URI())
		}
		return nil, fmt.Errorf("lakehouse: create: %w", err)
	}
	return t, nil
}

// OpenOrCreate opens the table, creating it from T if absent.
func OpenOrCreate[T any](ctx context.Context, store storage.Storage, c CreateOptions, opts Options) (*Table, error) {
	t, err := Open(ctx, store, opts)
	if errors.Is(err, ErrNotTable) {
		t, err = Create[T](ctx, store, c, opts)
		if errors.Is(err, ErrTableExists) {
			return Open(ctx, store, opts)
		}
	}
	return t, err
}
