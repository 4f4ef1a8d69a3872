package lakehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Checkpoint rows: exactly one of the top-level structs is set per row
// (PROTOCOL.md, "Checkpoint Schema").
type ckRow struct {
	Txn      *ckTxn      `parquet:"txn,optional"`
	Add      *ckAdd      `parquet:"add,optional"`
	Remove   *ckRemove   `parquet:"remove,optional"`
	MetaData *ckMetaData `parquet:"metaData,optional"`
	Protocol *ckProtocol `parquet:"protocol,optional"`
}

type ckTxn struct {
	AppID       string `parquet:"appId"`
	Version     int64  `parquet:"version"`
	LastUpdated *int64 `parquet:"lastUpdated,optional"`
}

type ckAdd struct {
	Path             string            `parquet:"path"`
	PartitionValues  map[string]string `parquet:"partitionValues"`
	Size             int64             `parquet:"size"`
	ModificationTime int64             `parquet:"modificationTime"`
	DataChange       bool              `parquet:"dataChange"`
	Stats            *string           `parquet:"stats,optional"`
	Tags             map[string]string `parquet:"tags,optional"`
}

type ckRemove struct {
	Path                 string            `parquet:"path"`
	DeletionTimestamp    *int64            `parquet:"deletionTimestamp,optional"`
	DataChange           bool              `parquet:"dataChange"`
	ExtendedFileMetadata *bool             `parquet:"extendedFileMetadata,optional"`
	PartitionValues      map[string]string `parquet:"partitionValues,optional"`
	Size                 *int64            `parquet:"size,optional"`
}

type ckFormat struct {
	Provider string            `parquet:"provider"`
	Options  map[string]string `parquet:"options,optional"`
}

type ckMetaData struct {
	ID               string            `parquet:"id"`
	Name             *string           `parquet:"name,optional"`
	Description      *string           `parquet:"description,optional"`
	Format           ckFormat          `parquet:"format"`
	SchemaString     string            `parquet:"schemaString"`
	PartitionColumns []string          `parquet:"partitionColumns,list"`
	CreatedTime      *int64            `parquet:"createdTime,optional"`
	Configuration    map[string]string `parquet:"configuration,optional"`
}

type ckProtocol struct {
	MinReaderVersion int32    `parquet:"minReaderVersion"`
	MinWriterVersion int32    `parquet:"minWriterVersion"`
	ReaderFeatures   []string `parquet:"readerFeatures,optional,list"`
	WriterFeatures   []string `parquet:"writerFeatures,optional,list"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// tombstoneRetention is delta.deletedFileRetentionDuration (default one
// week); only younger tombstones go into checkpoints.
func tombstoneRetention(m *Metadata) time.Duration {
	if d, ok := parseInterval(m.Configuration["delta.deletedFileRetentionDuration"]); ok {
		return d
	}
	return 7 * 24 * time.Hour
}

// parseInterval reads Delta's "interval N unit" durations.
func parseInterval(s string) (time.Duration, bool) {
	var n int64
	var unit string
	if _, err := fmt.Sscanf(s, "interval %d %s", &n, &unit); err != nil {
		return 0, false
	}
	units := map[string]time.Duration{"millisecond": time.Millisecond, "second": time.Second, "minute": time.Minute,
		"hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour}
	u := unit
	if len(u) > 1 && u[len(u)-1] == 's' {
		u = u[:len(u)-1]
	}
	d, ok := units[u]
	return time.Duration(n) * d, ok
}

// Checkpoint writes a checkpoint of the latest version and points
// _last_checkpoint at it. Commits do this every CheckpointInterval
// versions on their own.
func (t *Table) Checkpoint(ctx context.Context) (int64, error) {
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return -1, err
	}
	return snap.Version, t.writeCheckpoint(ctx, snap)
}

func (t *Table) writeCheckpoint(ctx context.Context, s *Snapshot) error {
	rows := make([]ckRow, 0, len(s.files)+len(s.tombstones)+len(s.txns)+2)
	p := s.Protocol
	rows = append(rows, ckRow{Protocol: &ckProtocol{MinReaderVersion: p.MinReaderVersion, MinWriterVersion: p.MinWriterVersion,
		ReaderFeatures: p.ReaderFeatures, WriterFeatures: p.WriterFeatures}})
	m := s.Metadata
	rows = append(rows, ckRow{MetaData: &ckMetaData{ID: m.ID, Name: optString(m.Name), Description: optString(m.Description),
		Format: ckFormat{Provider: m.Format.Provider, Options: m.Format.Options}, SchemaString: m.SchemaString,
		PartitionColumns: m.PartitionColumns, CreatedTime: m.CreatedTime, Configuration: m.Configuration}})
	appIDs := make([]string, 0, len(s.txns))
	for id := range s.txns {
		appIDs = append(appIDs, id)
	}
	sort.Strings(appIDs)
	for _, id := range appIDs {
		tx := s.txns[id]
		ck := &ckTxn{AppID: tx.AppID, Version: tx.Version}
		if tx.LastUpdated != 0 {
			ck.LastUpdated = &tx.LastUpdated
		}
		rows = append(rows, ckRow{Txn: ck})
	}
	for _, a := range s.Files() {
		rows = append(rows, ckRow{Add: &ckAdd{Path: a.Path, PartitionValues: nonNil(a.PartitionValues), Size: a.Size,
			ModificationTime: a.ModificationTime, DataChange: false, Stats: optString(a.Stats), Tags: a.Tags}})
	}
	cutoff := t.opts.Now().Add(-tombstoneRetention(&s.Metadata)).UnixMilli()
	paths := make([]string, 0, len(s.tombstones))
	for p := range s.tombstones {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		r := s.tombstones[p]
		if r.DeletionTimestamp < cutoff {
			continue
		}
		ck := &ckRemove{Path: r.Path, DataChange: false, PartitionValues: r.PartitionValues}
		ts, ext, size := r.DeletionTimestamp, r.ExtendedFileMetadata, r.Size
		ck.DeletionTimestamp, ck.ExtendedFileMetadata, ck.Size = &ts, &ext, &size
		rows = append(rows, ckRow{Remove: ck})
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[ckRow](&buf, parquet.Compression(&parquet.Snappy))
	if _, err := w.Write(rows); err != nil {
		return fmt.Errorf("lakehouse: checkpoint %d: %w", s.Version, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("lakehouse: checkpoint %d: %w", s.Version, err)
	}
	size := buf.Len()
	if err := t.store.Put(ctx, checkpointKey(s.Version), buf.Bytes()); err != nil {
		return fmt.Errorf("lakehouse: checkpoint %d: %w", s.Version, err)
	}
	lc, _ := json.Marshal(lastCheckpoint{Version: s.Version, Size: int64(len(rows)), SizeInBytes: int64(size), NumOfAddFiles: int64(len(s.files))})
	// _last_checkpoint only moves forward: a slow writer must not point
	// readers back at an older checkpoint.
	if cur := t.readLastCheckpoint(ctx); cur > s.Version {
		return nil
	}
	if err := t.store.Put(ctx, lastCheckpointKey, lc); err != nil {
		return fmt.Errorf("lakehouse: checkpoint %d: %w", s.Version, err)
	}
	return nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (t *Table) readCheckpoint(ctx context.Context, v int64) (*Snapshot, error) {
	name := checkpointKey(v)
	r, err := t.store.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (version %d): %w", ErrCorrupt, name, v, err)
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %s (version %d): %v", ErrCorrupt, name, v, err)
	}
	pr := parquet.NewGenericReader[ckRow](f)
	defer pr.Close()
	s := newSnapshot()
	buf := make([]ckRow, 1024)
	for {
		n, err := pr.Read(buf)
		for _, row := range buf[:n] {
			if err := s.applyCheckpointRow(&row); err != nil {
				return nil, fmt.Errorf("%w: %s (version %d): %v", ErrCorrupt, name, v, err)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s (version %d): %v", ErrCorrupt, name, v, err)
		}
		clear(buf)
	}
	s.Version = v
	return s, nil
}

func (s *Snapshot) applyCheckpointRow(row *ckRow) error {
	switch {
	case row.Protocol != nil:
		s.Protocol = Protocol{MinReaderVersion: row.Protocol.MinReaderVersion, MinWriterVersion: row.Protocol.MinWriterVersion,
			ReaderFeatures: row.Protocol.ReaderFeatures, WriterFeatures: row.Protocol.WriterFeatures}
	case row.MetaData != nil:
		m := row.MetaData
		s.Metadata = Metadata{ID: m.ID, Format: Format{Provider: m.Format.Provider, Options: nonNil(m.Format.Options)},
			SchemaString: m.SchemaString, PartitionColumns: m.PartitionColumns, Configuration: nonNil(m.Configuration), CreatedTime: m.CreatedTime}
		if s.Metadata.PartitionColumns == nil {
			s.Metadata.PartitionColumns = []string{}
		}
		if m.Name != nil {
			s.Metadata.Name = *m.Name
		}
		if m.Description != nil {
			s.Metadata.Description = *m.Description
		}
	case row.Txn != nil:
		tx := Txn{AppID: row.Txn.AppID, Version: row.Txn.Version}
		if row.Txn.LastUpdated != nil {
			tx.LastUpdated = *row.Txn.LastUpdated
		}
		s.txns[tx.AppID] = tx
	case row.Add != nil:
		a := &Add{Path: row.Add.Path, PartitionValues: nonNil(row.Add.PartitionValues), Size: row.Add.Size,
			ModificationTime: row.Add.ModificationTime, DataChange: row.Add.DataChange, Tags: row.Add.Tags}
		if row.Add.Stats != nil {
			a.Stats = *row.Add.Stats
		}
		p, err := FilePath(a.Path)
		if err != nil {
			return err
		}
		s.files[p] = a
	case row.Remove != nil:
		r := &Remove{Path: row.Remove.Path, DataChange: row.Remove.DataChange, PartitionValues: row.Remove.PartitionValues}
		if row.Remove.DeletionTimestamp != nil {
			r.DeletionTimestamp = *row.Remove.DeletionTimestamp
		}
		if row.Remove.Size != nil {
			r.Size = *row.Remove.Size
		}
		p, err := FilePath(r.Path)
		if err != nil {
			return err
		}
		s.tombstones[p] = r
	}
	return nil
}
