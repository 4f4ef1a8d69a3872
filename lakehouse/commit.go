package lakehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Mode says which live files a commit replaces.
type Mode int

const (
	// ModeAppend adds files and removes none (a blind append: it never
	// conflicts with other appends and is retried automatically).
	ModeAppend Mode = iota
	// ModeOverwrite removes every live file.
	ModeOverwrite
	// ModeReplaceWhere removes the live files of the partitions listed in
	// Commit.Partitions.
	ModeReplaceWhere
)

func (m Mode) String() string {
	switch m {
	case ModeOverwrite:
		return "Overwrite"
	case ModeReplaceWhere:
		return "ReplaceWhere"
	}
	return "Append"
}

// Commit is one transaction: files to add (from WriteDataFile), files to
// replace, and an optional application transaction id.
type Commit struct {
	// Operation names the commit in commitInfo ("WRITE" if empty;
	// "DELETE", "OPTIMIZE", ...).
	Operation string
	Mode      Mode
	Adds      []Add
	// Partitions lists partition values (column -> value) whose files are
	// replaced in ReplaceWhere mode. A map may name a subset of the
	// partition columns (then it matches every value of the others).
	Partitions []map[string]string
	// Removes are explicit tombstones (for example compaction); each file
	// must be live at the read version, or the commit conflicts.
	Removes []Remove
	// Txn makes the commit idempotent: if the table already holds a txn
	// for Txn.AppID with version >= Txn.Version, nothing is written and
	// the result says Skipped.
	Txn *Txn
	// ReadVersion is the version the commit was planned against (the
	// snapshot the writers read); nil means "the latest at commit time".
	// Commits after ReadVersion are checked for conflicts.
	ReadVersion *int64
	// OperationParameters go into commitInfo.
	OperationParameters map[string]any
}

// CommitResult reports a commit.
type CommitResult struct {
	Version  int64 // the version written, or the current one when Skipped
	Skipped  bool  // the txn was already committed
	Attempts int   // put-if-absent attempts (1 without contention)
	Removed  int   // files removed by the commit
	// CheckpointErr is set when the commit succeeded but writing the
	// checkpoint after it failed (the table is fine; the next checkpoint
	// covers it).
	CheckpointErr error
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (t *Table) commitInfo(ts int64, op string, params map[string]any, readVersion int64, blind bool) map[string]any {
	ps := map[string]any{}
	for k, v := range params {
		if s, ok := v.(string); ok {
			ps[k] = s
		} else {
			ps[k] = jsonString(v)
		}
	}
	info := map[string]any{
		"timestamp": ts, "operation": op, "operationParameters": ps,
		"isolationLevel": "Serializable", "isBlindAppend": blind,
		"engineInfo": t.opts.EngineInfo, "txnId": uuid.NewString(),
	}
	if readVersion >= 0 {
		info["readVersion"] = readVersion
	}
	return info
}

// commitMetrics are the counts a commit records of itself (strings, as
// Spark writes them), so that a reader can tell a commit file cut short:
// numAddedFiles and numRemovedFiles always, numOutputRows (the rows of the
// added files) when every add has stats.
func commitMetrics(removes []Remove, adds []Add) map[string]any {
	m := map[string]any{
		"numAddedFiles":   strconv.Itoa(len(adds)),
		"numRemovedFiles": strconv.Itoa(len(removes)),
	}
	if rows, ok := addedRows(adds); ok {
		m["numOutputRows"] = strconv.FormatInt(rows, 10)
	}
	return m
}

// addedRows sums numRecords over adds; ok is false when one has no stats.
func addedRows(adds []Add) (rows int64, ok bool) {
	for _, a := range adds {
		if a.Stats == "" {
			return 0, false
		}
		var st struct {
			NumRecords *int64 `json:"numRecords"`
		}
		if json.Unmarshal([]byte(a.Stats), &st) != nil || st.NumRecords == nil {
			return 0, false
		}
		rows += *st.NumRecords
	}
	return rows, true
}

// checkMetrics compares the counts a commit's commitInfo recorded
// (operationMetrics numAddedFiles, numRemovedFiles, numOutputRows, as we
// and Spark write them) with the actions the file holds: a commit file
// cut at a line boundary still parses, and only its own counts tell.
func checkMetrics(name string, version int64, actions []Action) error {
	var metrics map[string]any
	var adds []Add
	removes := 0
	for _, a := range actions {
		switch {
		case a.CommitInfo != nil:
			metrics, _ = a.CommitInfo["operationMetrics"].(map[string]any)
		case a.Add != nil:
			adds = append(adds, *a.Add)
		case a.Remove != nil:
			removes++
		}
	}
	if metrics == nil {
		return nil
	}
	count := func(key string) (int64, bool) {
		switch v := metrics[key].(type) {
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		case float64:
			return int64(v), true
		}
		return 0, false
	}
	if n, ok := count("numAddedFiles"); ok && n != int64(len(adds)) {
		return fmt.Errorf("%w: %s (version %d): commitInfo records %d added files, the file holds %d (commit file cut short?)", ErrCorrupt, name, version, n, len(adds))
	}
	if n, ok := count("numRemovedFiles"); ok && n != int64(removes) {
		return fmt.Errorf("%w: %s (version %d): commitInfo records %d removed files, the file holds %d (commit file cut short?)", ErrCorrupt, name, version, n, removes)
	}
	if n, ok := count("numOutputRows"); ok {
		if rows, all := addedRows(adds); all && rows != n {
			return fmt.Errorf("%w: %s (version %d): commitInfo records %d rows written, the added files hold %d (commit file cut short?)", ErrCorrupt, name, version, n, rows)
		}
	}
	return nil
}

// matches reports whether partition values pv fall in one of parts.
func matches(pv map[string]string, parts []map[string]string) bool {
	for _, p := range parts {
		ok := true
		for k, v := range p {
			if pv[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Commit commits c with optimistic concurrency: it writes
// _delta_log/<version>.json only if absent, and on losing the race reads
// the winning commits, checks them for conflicts, and retries at the next
// version when that is safe. See the package doc for the conflict rules.
func (t *Table) Commit(ctx context.Context, c Commit) (CommitResult, error) {
	var res CommitResult
	var snap *Snapshot
	var err error
	if c.ReadVersion != nil {
		snap, err = t.SnapshotAt(ctx, *c.ReadVersion)
	} else {
		snap, err = t.Snapshot(ctx)
	}
	if err != nil {
		return res, err
	}
	if err := snap.checkWritable(); err != nil {
		return res, err
	}
	if c.Txn != nil {
		if v, ok := snap.AppVersion(c.Txn.AppID); ok && v >= c.Txn.Version {
			latest, err := t.Snapshot(ctx)
			if err != nil {
				return res, err
			}
			return CommitResult{Version: latest.Version, Skipped: true}, nil
		}
	}
	if err := t.validateAdds(snap, c.Adds); err != nil {
		return res, err
	}
	if c.Mode == ModeReplaceWhere {
		for _, p := range c.Partitions {
			for k := range p {
				if !slices.Contains(snap.Metadata.PartitionColumns, k) {
					return res, fmt.Errorf("lakehouse: replace-where on %q, which is not a partition column", k)
				}
			}
		}
	}
	readVersion := snap.Version
	removes, err := planRemoves(snap, c, t.opts.Now().UnixMilli())
	if err != nil {
		return res, err
	}
	dataChange := len(c.Adds) > 0 && c.Adds[0].DataChange || len(removes) > 0 && removes[0].DataChange
	if dataChange && len(removes) > 0 && snap.Metadata.Configuration["delta.appendOnly"] == "true" {
		return res, fmt.Errorf("lakehouse: table is append-only (delta.appendOnly): cannot remove files")
	}
	removedPaths := map[string]bool{}
	for _, r := range removes {
		p, _ := FilePath(r.Path)
		removedPaths[p] = true
	}
	blind := c.Mode == ModeAppend && len(removes) == 0
	op := c.Operation
	if op == "" {
		op = "WRITE"
	}
	params := maps.Clone(c.OperationParameters)
	if params == nil {
		params = map[string]any{}
	}
	if op == "WRITE" {
		params["mode"] = c.Mode.String()
		params["partitionBy"] = jsonString(snap.Metadata.PartitionColumns)
		if c.Mode == ModeReplaceWhere {
			params["predicate"] = jsonString(c.Partitions)
		}
	}

	for attempt := 1; attempt <= t.opts.MaxCommitAttempts; attempt++ {
		res.Attempts = attempt
		version := snap.Version + 1
		now := t.opts.Now().UnixMilli()
		info := t.commitInfo(now, op, params, readVersion, blind)
		info["operationMetrics"] = commitMetrics(removes, c.Adds)
		actions := []Action{{CommitInfo: info}}
		if c.Txn != nil {
			actions = append(actions, Action{Txn: &Txn{AppID: c.Txn.AppID, Version: c.Txn.Version, LastUpdated: now}})
		}
		for i := range removes {
			actions = append(actions, Action{Remove: &removes[i]})
		}
		for i := range c.Adds {
			actions = append(actions, Action{Add: &c.Adds[i]})
		}
		data, err := encodeActions(actions)
		if err != nil {
			return res, err
		}
		err = t.store.PutIfAbsent(ctx, commitKey(version), data)
		if err == nil {
			res.Version, res.Removed = version, len(removes)
			if t.opts.CheckpointInterval > 0 && version%int64(t.opts.CheckpointInterval) == 0 {
				if err := snap.apply(commitKey(version), version, actions); err != nil {
					res.CheckpointErr = err
				} else {
					res.CheckpointErr = t.writeCheckpoint(ctx, snap)
				}
			}
			return res, nil
		}
		if !errors.Is(err, storage.ErrExist) {
			return res, fmt.Errorf("lakehouse: commit %d: %w", version, err)
		}
		// Lost the race: replay the winner(s) and look for conflicts.
		for {
			won, err := t.readCommit(ctx, version)
			if err != nil {
				if errors.Is(err, storage.ErrNotExist) {
					break
				}
				return res, err
			}
			skipped, err := checkConflict(c, blind, snap.Metadata.PartitionColumns, removedPaths, version, won)
			if err != nil {
				return res, err
			}
			if err := snap.apply(commitKey(version), version, won); err != nil {
				return res, err
			}
			if skipped {
				return CommitResult{Version: version, Skipped: true, Attempts: attempt}, nil
			}
			version++
			if _, err := t.store.Stat(ctx, commitKey(version)); err != nil {
				if errors.Is(err, storage.ErrNotExist) {
					break
				}
				return res, fmt.Errorf("lakehouse: commit: %w", err)
			}
		}
	}
	return res, fmt.Errorf("lakehouse: commit: gave up after %d attempts", t.opts.MaxCommitAttempts)
}

// checkConflict decides whether commit c (planned on an older snapshot)
// can be rebased over the winning commit `won` at version v.
func checkConflict(c Commit, blind bool, partCols []string, removedPaths map[string]bool, v int64, won []Action) (skipped bool, err error) {
	conflict := func(format string, args ...any) error {
		return fmt.Errorf("%w: version %d %s", ErrConflict, v, fmt.Sprintf(format, args...))
	}
	for _, a := range won {
		switch {
		case a.Protocol != nil:
			return false, conflict("changed the protocol")
		case a.Metadata != nil:
			return false, conflict("changed the table metadata")
		case a.Txn != nil && c.Txn != nil && a.Txn.AppID == c.Txn.AppID && a.Txn.Version >= c.Txn.Version:
			return true, nil
		case a.Remove != nil:
			p, _ := FilePath(a.Remove.Path)
			if removedPaths[p] {
				return false, conflict("removed %s, which this commit removes too", a.Remove.Path)
			}
			if !blind && a.Remove.DataChange && touches(c, a.Remove.PartitionValues, partCols) {
				return false, conflict("deleted data this commit replaces (%s)", a.Remove.Path)
			}
		case a.Add != nil:
			if !blind && a.Add.DataChange && touches(c, a.Add.PartitionValues, partCols) {
				return false, conflict("added data in a partition this commit replaces (%s)", a.Add.Path)
			}
		}
	}
	return false, nil
}

// touches reports whether a concurrent change in partition pv overlaps
// what c read and replaces. Compaction (explicit removes, dataChange false)
// reads nothing beyond its own files.
func touches(c Commit, pv map[string]string, partCols []string) bool {
	switch c.Mode {
	case ModeOverwrite:
		return true
	case ModeReplaceWhere:
		if pv == nil && len(partCols) > 0 {
			return true // no partition values recorded: assume overlap
		}
		return matches(pv, c.Partitions)
	}
	return false
}

// planRemoves computes the tombstones of c against snap.
func planRemoves(snap *Snapshot, c Commit, now int64) ([]Remove, error) {
	var out []Remove
	seen := map[string]bool{}
	tomb := func(a *Add, dataChange bool) Remove {
		return Remove{Path: a.Path, DeletionTimestamp: now, DataChange: dataChange, ExtendedFileMetadata: true,
			PartitionValues: a.PartitionValues, Size: a.Size}
	}
	for _, a := range snap.Files() {
		switch {
		case c.Mode == ModeOverwrite, c.Mode == ModeReplaceWhere && matches(a.PartitionValues, c.Partitions):
			p, _ := FilePath(a.Path)
			seen[p] = true
			out = append(out, tomb(&a, true))
		}
	}
	for _, r := range c.Removes {
		p, err := FilePath(r.Path)
		if err != nil {
			return nil, err
		}
		a, ok := snap.files[p]
		if !ok {
			return nil, fmt.Errorf("%w: file %s is not live at version %d", ErrConflict, r.Path, snap.Version)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		rm := tomb(a, r.DataChange)
		if r.DeletionTimestamp != 0 {
			rm.DeletionTimestamp = r.DeletionTimestamp
		}
		out = append(out, rm)
	}
	return out, nil
}

// validateAdds checks the adds against the table's partition columns.
func (t *Table) validateAdds(snap *Snapshot, adds []Add) error {
	cols := snap.Metadata.PartitionColumns
	seen := map[string]bool{}
	for _, a := range adds {
		if a.Path == "" || strings.HasPrefix(a.Path, "_") || strings.HasPrefix(a.Path, ".") {
			return fmt.Errorf("lakehouse: add: invalid path %q", a.Path)
		}
		if seen[a.Path] {
			return fmt.Errorf("lakehouse: add: %s twice in one commit", a.Path)
		}
		seen[a.Path] = true
		if len(a.PartitionValues) != len(cols) {
			return fmt.Errorf("lakehouse: add %s: partition values %v, table partitioned by %v", a.Path, a.PartitionValues, cols)
		}
		for _, col := range cols {
			if _, ok := a.PartitionValues[col]; !ok {
				return fmt.Errorf("lakehouse: add %s: no value for partition column %q", a.Path, col)
			}
		}
	}
	return nil
}
