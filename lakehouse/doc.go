// Package lakehouse implements the Delta Lake transaction protocol
// (PROTOCOL.md of delta-io/delta) in Go: tables on a storage.Storage
// (local disk or S3), written and read through Go row structs with
// parquet-go. It owns log replay, snapshots, time travel, optimistic
// commits, checkpoints, compaction and vacuum.
//
// # On-disk format
//
//	<table>/_delta_log/%020d.json               one commit: newline-delimited JSON actions
//	<table>/_delta_log/%020d.checkpoint.parquet  classic single-file checkpoint
//	<table>/_delta_log/_last_checkpoint          {"version","size","sizeInBytes","numOfAddFiles"}
//	<table>/col=value/.../part-00000-<uuid>-c000.zstd.parquet   data files
//
// Every commit starts with commitInfo (timestamp, operation,
// operationParameters, operationMetrics {numAddedFiles, numRemovedFiles,
// numOutputRows} as strings, readVersion, isolationLevel, isBlindAppend,
// engineInfo, txnId), then txn, remove and add actions. Version 0 holds
// protocol {minReaderVersion 1, minWriterVersion 2} and metaData (UUID id,
// parquet format, schemaString, partitionColumns, configuration,
// createdTime). Partition directories are escaped like Spark's
// escapePathName and add.path is URI-encoded once on top ("a b" is stored
// in directory "app=a%20b" and logged as "app=a%2520b/..."). Partition
// columns are not stored in data files. Data files are Parquet with data
// page v2, zstd (fastest level; or snappy), integer columns and integer
// list elements DELTA_BINARY_PACKED, the other columns PLAIN.
//
// # Row types
//
// A table's schema is a Go struct with parquet tags. Types map as:
// int64 → long, int32 → integer, int16/int8 (tagged int(16)/int(8)) →
// short/byte, float64 → double, float32 → float, bool → boolean, string →
// string, []byte → binary, time.Time tagged `timestamp(microsecond)` →
// timestamp (INT64 TIMESTAMP(MICROS, UTC); other units are refused),
// []T tagged `list` → array<T> (3-level LIST). Partition columns must be
// string fields and non-empty. All columns are declared nullable.
//
// # Writing
//
// High level: Create[T] / Open, then Append, Write (ModeAppend,
// ModeOverwrite, ModeReplaceWhere with Partitions), Table.DeletePartitions,
// Optimize[T], Table.Vacuum, Table.Checkpoint.
//
// Low level, for distributed writers (the Beam sink): workers call
//
//	w, _ := lakehouse.NewWriter[Row](ctx, tbl)
//	adds, _ := w.WriteDataFile(ctx, map[string]string{"week": "2022-W10", "app": "x"}, rows)
//	// or w.WriteDataFiles(ctx, rows) to group by partition
//
// in parallel; each returns []Add (path, size, modificationTime,
// partitionValues, stats) and commits nothing. Adds are plain JSON-able
// values, so they can travel between processes. The driver then commits
// all of them at once:
//
//	rv := snap.Version // the version the job planned against
//	res, err := tbl.Commit(ctx, lakehouse.Commit{
//		Mode: lakehouse.ModeAppend, Adds: allAdds,
//		Txn: &lakehouse.Txn{AppID: "parse", Version: jobVersion}, ReadVersion: &rv})
//
// With a Txn, re-running a job version that was already committed is a
// no-op (res.Skipped). Data files of attempts that never commit are
// orphans; Vacuum removes them once older than its retention.
//
// # Concurrency
//
// A commit is a put-if-absent of the next _delta_log/N.json
// (storage.Storage.PutIfAbsent: link(2) locally, If-None-Match: * on S3).
// A writer that loses the race reads the winning commits and
//   - fails with ErrConflict if one changed protocol or metadata, removed a
//     file this commit removes, or (for overwrite / replace-where / delete)
//     added or removed data in the partitions this commit replaces;
//   - returns Skipped if one committed the same txn appId at >= our version;
//   - otherwise (blind appends, compaction vs. appends) retries at the next
//     version, up to Options.MaxCommitAttempts.
//
// # Reading
//
// Table.Snapshot (latest, starting from _last_checkpoint), SnapshotAt
// (version), SnapshotAsOf (commit file modification time). Snapshot.Files
// prunes by Filter on partition values (exact) and on min/max stats;
// Rows[T] streams rows file by file and row group by row group. Reading
// tolerates other writers' files: LIST element names ("item"), optional
// columns, missing columns (zero values). Corrupt or truncated log files,
// version gaps, and commits whose operationMetrics disagree with the
// actions the file holds (a commit cut at a line boundary still parses)
// fail with ErrCorrupt naming the file and version.
//
// # Statistics
//
// add.stats has numRecords and, per top-level primitive column, nullCount,
// minValues, maxValues. Bounds are exact or left out: timestamps in
// milliseconds (min rounded down, max up), strings longer than 32
// characters keep a 32-character min prefix and no max, NaN, boolean,
// binary and list columns get no bounds.
//
// # Supported protocol features
//
//   - reader version 1 (and 3 without features), writer version 2 (and 7 with
//     appendOnly, invariants-free schemas); delta.appendOnly is enforced;
//   - add, remove (extendedFileMetadata), metaData, protocol, txn,
//     commitInfo; unknown actions are ignored on read;
//   - partitioned tables, time travel by version and timestamp;
//   - classic single-file Parquet checkpoints (read and write, including
//     delta-rs's), _last_checkpoint, tombstone retention
//     (delta.deletedFileRetentionDuration);
//   - OPTIMIZE-style compaction (dataChange=false), VACUUM.
//
// # Not supported
//
//   - deletion vectors, column mapping, timestampNtz, row tracking,
//     in-commit timestamps, V2 checkpoints/sidecars, multi-part checkpoints,
//     domain metadata, change data feed (cdc), check constraints,
//     generated/identity columns, column invariants (tables using any of
//     them are refused for writing or reading as appropriate);
//   - null partition values (__HIVE_DEFAULT_PARTITION__) and non-string
//     partition columns on write; maps and nested structs in row types;
//   - schema evolution (the row type must match the table schema);
//   - log compaction files, .crc checksums and metadata cleanup
//     (delta.logRetentionDuration): old log files are kept;
//   - stats_parsed/partitionValues_parsed in checkpoints;
//   - row-level filtering: Rows prunes whole files only.
package lakehouse
