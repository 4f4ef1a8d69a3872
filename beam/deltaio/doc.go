// Package deltaio is the Beam sink and source of the project's Delta tables,
// built on package lakehouse.
//
// # Writing
//
// Workers write Parquet data files themselves, in parallel, and never commit:
//
//	work unit ─► DoFn: rows ─► Buffer (per partition, bounded) ─► lakehouse.Writer.WriteDataFile
//	          └► one Manifest per unit (JSON string): the add actions it wrote, per table, and counters
//	manifests ─► beam.Combine (all manifests, small strings) ─► commitFn: ONE commit per table
//
// A Buffer keeps rows per partition and writes a partition as a data file when
// it holds FileRows rows, or writes its largest partition when all partitions
// together hold MaxRows rows, so a worker's memory is bounded whatever the
// input size. Only add actions (paths, sizes, stats) travel through Beam; the
// rows never do, which matters on prism, whose shuffles live in memory.
//
// # Committing
//
// The commit step (Commit) runs once, on one worker, after every manifest
// has arrived. It checks that it got one manifest per planned unit, then makes
// one lakehouse commit per table carrying every add action plus a Delta txn
// action {appId: CommitSpec.AppID, version: 1}. If the table already holds
// that txn the commit is skipped, so a retried run (Airflow retries, a
// re-executed commit bundle) leaves the table exactly as one run would. Data
// files of failed attempts are never referenced; lakehouse's Vacuum removes
// them.
//
// Replace modes (CommitSpec.Mode):
//
//   - ModeAppend: add only.
//   - ModeReplaceDays: the commit also removes the live rows of CommitSpec.Days,
//     so re-ingesting a day replaces that day and nothing else. Every file the
//     pipelines write holds the rows of one day only, and the day of a file is
//     read from the exact min/max statistics of its `day` column (the add's
//     stats; lakehouse always writes them). Files are first pruned by the
//     `week` partition when the table has one. A live file whose day range is
//     inside the replaced days is removed; one whose range is disjoint is kept;
//     one that straddles (a compacted file, or a file without stats) is
//     rewritten without the replaced days' rows, in the same commit. The
//     rewrite needs the row type, registered with RegisterRowType.
//   - ModeReplacePartitions: lakehouse replace-where of CommitSpec.Partitions
//     (for example the affected weeks of traffic_hourly).
//
// Commit results (version, counters) are also written into the commit's
// commitInfo.operationParameters under "telcotraffic.run" and
// "telcotraffic.counters", and the units' own reports (Manifest.Report)
// under "telcotraffic.units", so FindCommit can report them after the
// pipeline ends, on any runner, and for runs whose commit was skipped.
//
// A unit whose input was bad (Manifest.Quarantined) wrote no files; its
// Manifest.Days are left out of the replaced days, so they keep what the
// table held, and the commit's app id ends with PartialSuffix: the table
// does not hold the whole run, so the same run is tried again next time
// rather than skipped. FindCommit finds such a commit too (Partial).
//
// # Reading
//
// ReadFile streams the rows of one data file into any struct type whose
// parquet tags name a subset of the columns (only those columns are decoded);
// PlanUnits groups the files of a pinned snapshot into work units.
// PlanWeekJob plans a job that recomputes whole weeks of an output table
// from flows (pinned selection, units, replace commit, txn check), and
// ReadUnit gives such a job's DoFn the week-filtered rows of one unit.
//
// # Storage
//
// Lake URIs are local paths, file:// or s3://bucket/prefix. Workers build S3
// settings from the usual AWS_* environment variables (storage.FromEnv), as
// Beam's own s3 filesystem does: credentials never travel inside the
// pipeline.
package deltaio
