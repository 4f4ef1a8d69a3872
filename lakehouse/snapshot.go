package lakehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

const logDir = "_delta_log/"

func commitKey(v int64) string     { return fmt.Sprintf("%s%020d.json", logDir, v) }
func checkpointKey(v int64) string { return fmt.Sprintf("%s%020d.checkpoint.parquet", logDir, v) }

const lastCheckpointKey = logDir + "_last_checkpoint"

// parseLogName classifies a _delta_log key: a commit ("N.json") or a
// single-file checkpoint ("N.checkpoint.parquet"). Other files (multi-part
// checkpoints, .crc, compacted logs, temp files) are ignored.
func parseLogName(key string) (version int64, checkpoint, ok bool) {
	name, found := strings.CutPrefix(key, logDir)
	if !found || len(name) < 20 {
		return 0, false, false
	}
	v, err := strconv.ParseInt(name[:20], 10, 64)
	if err != nil {
		return 0, false, false
	}
	switch name[20:] {
	case ".json":
		return v, false, true
	case ".checkpoint.parquet":
		return v, true, true
	}
	return 0, false, false
}

// Snapshot is the state of a table at one version: protocol, metadata,
// live files, tombstones and application transaction versions. It is
// immutable once returned.
type Snapshot struct {
	Version  int64
	Protocol Protocol
	Metadata Metadata
	// CommitTime is the modification time of the version's commit file
	// (what time travel by timestamp compares against).
	CommitTime time.Time

	files      map[string]*Add    // keyed by decoded path
	tombstones map[string]*Remove // keyed by decoded path
	txns       map[string]Txn
}

func newSnapshot() *Snapshot {
	return &Snapshot{Version: -1, files: map[string]*Add{}, tombstones: map[string]*Remove{}, txns: map[string]Txn{}}
}

// Files returns the live data files, sorted by path, keeping only those
// that may hold rows matching every filter (partition values and min/max
// stats; see Filter).
func (s *Snapshot) Files(filters ...Filter) []Add {
	out := make([]Add, 0, len(s.files))
	for _, a := range s.files {
		if keep(a, s.Metadata.PartitionColumns, filters) {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// NumFiles returns the number of live data files.
func (s *Snapshot) NumFiles() int { return len(s.files) }

// AppVersion returns the last version committed by appID (a txn action).
func (s *Snapshot) AppVersion(appID string) (int64, bool) {
	t, ok := s.txns[appID]
	return t.Version, ok
}

// Schema returns the table schema.
func (s *Snapshot) Schema() (StructType, error) { return ParseSchema(s.Metadata.SchemaString) }

// apply replays one commit's actions onto the snapshot.
func (s *Snapshot) apply(name string, version int64, actions []Action) error {
	for _, a := range actions {
		switch {
		case a.Protocol != nil:
			s.Protocol = *a.Protocol
		case a.Metadata != nil:
			s.Metadata = *a.Metadata
		case a.Txn != nil:
			s.txns[a.Txn.AppID] = *a.Txn
		case a.Add != nil:
			p, err := FilePath(a.Add.Path)
			if err != nil {
				return fmt.Errorf("%w: %s (version %d): %v", ErrCorrupt, name, version, err)
			}
			add := *a.Add
			s.files[p] = &add
			delete(s.tombstones, p)
		case a.Remove != nil:
			p, err := FilePath(a.Remove.Path)
			if err != nil {
				return fmt.Errorf("%w: %s (version %d): %v", ErrCorrupt, name, version, err)
			}
			rm := *a.Remove
			delete(s.files, p)
			s.tombstones[p] = &rm
		}
	}
	s.Version = version
	return nil
}

// validate checks that the replayed state is a table this package can read.
func (s *Snapshot) validate(where string) error {
	if s.Protocol.MinReaderVersion == 0 {
		return fmt.Errorf("%w: %s: no protocol action", ErrCorrupt, where)
	}
	if s.Metadata.ID == "" && s.Metadata.SchemaString == "" {
		return fmt.Errorf("%w: %s: no metaData action", ErrCorrupt, where)
	}
	switch {
	case s.Protocol.MinReaderVersion <= 1:
	case s.Protocol.MinReaderVersion == 3 && len(s.Protocol.ReaderFeatures) == 0:
	default:
		return fmt.Errorf("%w: reader version %d features %v", ErrUnsupported, s.Protocol.MinReaderVersion, s.Protocol.ReaderFeatures)
	}
	for p, a := range s.files {
		if len(a.DeletionVector) > 0 && string(a.DeletionVector) != "null" {
			return fmt.Errorf("%w: deletion vector on %s", ErrUnsupported, p)
		}
	}
	return nil
}

// supportedWriterFeatures are the writer-v7 features this package honours.
var supportedWriterFeatures = []string{"appendOnly", "invariants"}

// checkWritable refuses tables whose protocol asks more than we implement.
func (s *Snapshot) checkWritable() error {
	switch {
	case s.Protocol.MinWriterVersion <= 2:
	case s.Protocol.MinWriterVersion == 7:
		for _, f := range s.Protocol.WriterFeatures {
			if !slices.Contains(supportedWriterFeatures, f) {
				return fmt.Errorf("%w: writer feature %q", ErrUnsupported, f)
			}
		}
	default:
		return fmt.Errorf("%w: writer version %d", ErrUnsupported, s.Protocol.MinWriterVersion)
	}
	if strings.Contains(s.Metadata.SchemaString, "delta.invariants") {
		return fmt.Errorf("%w: column invariants", ErrUnsupported)
	}
	return nil
}

type lastCheckpoint struct {
	Version       int64 `json:"version"`
	Size          int64 `json:"size"`
	SizeInBytes   int64 `json:"sizeInBytes,omitempty"`
	NumOfAddFiles int64 `json:"numOfAddFiles,omitempty"`
	Parts         *int  `json:"parts,omitempty"`
}

type logListing struct {
	commits     map[int64]storage.ObjectInfo
	checkpoints []int64 // ascending
	latest      int64
}

// listLog lists _delta_log from version `from` on (0: everything).
func (t *Table) listLog(ctx context.Context, from int64) (*logListing, error) {
	startAfter := ""
	if from > 0 {
		startAfter = fmt.Sprintf("%s%020d", logDir, from-1) + "~" // after every name of version from-1
	}
	objs, err := t.store.List(ctx, logDir, startAfter)
	if err != nil {
		return nil, fmt.Errorf("lakehouse: list log: %w", err)
	}
	l := &logListing{commits: map[int64]storage.ObjectInfo{}, latest: -1}
	for _, o := range objs {
		v, cp, ok := parseLogName(o.Key)
		if !ok {
			continue
		}
		if cp {
			l.checkpoints = append(l.checkpoints, v)
		} else {
			l.commits[v] = o
		}
		l.latest = max(l.latest, v)
	}
	return l, nil
}

// readLastCheckpoint returns the hinted checkpoint version, or -1.
func (t *Table) readLastCheckpoint(ctx context.Context) int64 {
	b, err := t.store.Get(ctx, lastCheckpointKey)
	if err != nil {
		return -1
	}
	var lc lastCheckpoint
	if json.Unmarshal(b, &lc) != nil || lc.Parts != nil || lc.Version < 0 {
		return -1 // a stale or odd hint only costs a full listing
	}
	return lc.Version
}

// Snapshot loads the latest version.
func (t *Table) Snapshot(ctx context.Context) (*Snapshot, error) {
	if hint := t.readLastCheckpoint(ctx); hint >= 0 {
		l, err := t.listLog(ctx, hint)
		if err != nil {
			return nil, err
		}
		if slices.Contains(l.checkpoints, hint) {
			return t.load(ctx, l, l.latest)
		}
	}
	l, err := t.listLog(ctx, 0)
	if err != nil {
		return nil, err
	}
	if l.latest < 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotTable, t.store.URI())
	}
	return t.load(ctx, l, l.latest)
}

// SnapshotAt loads version v (time travel).
func (t *Table) SnapshotAt(ctx context.Context, v int64) (*Snapshot, error) {
	l, err := t.listLog(ctx, 0)
	if err != nil {
		return nil, err
	}
	if l.latest < 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotTable, t.store.URI())
	}
	if v < 0 || v > l.latest {
		return nil, fmt.Errorf("%w: %d (latest is %d)", ErrVersionNotFound, v, l.latest)
	}
	return t.load(ctx, l, v)
}

// SnapshotAsOf loads the last version committed at or before ts, judged by
// the commit files' modification times.
func (t *Table) SnapshotAsOf(ctx context.Context, ts time.Time) (*Snapshot, error) {
	l, err := t.listLog(ctx, 0)
	if err != nil {
		return nil, err
	}
	best := int64(-1)
	for v, o := range l.commits {
		if !o.ModTime.After(ts) && v > best {
			best = v
		}
	}
	if best < 0 {
		return nil, fmt.Errorf("%w: no commit at or before %s", ErrVersionNotFound, ts.Format(time.RFC3339Nano))
	}
	return t.load(ctx, l, best)
}

// load replays the newest checkpoint <= target plus the commits after it.
func (t *Table) load(ctx context.Context, l *logListing, target int64) (*Snapshot, error) {
	snap := newSnapshot()
	start := int64(0)
	for i := len(l.checkpoints) - 1; i >= 0; i-- {
		cp := l.checkpoints[i]
		if cp > target {
			continue
		}
		s, err := t.readCheckpoint(ctx, cp)
		if err != nil {
			return nil, err
		}
		snap, start = s, cp+1
		break
	}
	for v := start; v <= target; v++ {
		info, ok := l.commits[v]
		if !ok {
			if v == 0 && start == 0 && len(l.commits) == 0 {
				return nil, fmt.Errorf("%w: %s", ErrNotTable, t.store.URI())
			}
			return nil, fmt.Errorf("%w: %s missing: versions are not contiguous (need %d..%d)", ErrCorrupt, commitKey(v), start, target)
		}
		actions, err := t.readCommit(ctx, v)
		if err != nil {
			return nil, err
		}
		if err := snap.apply(commitKey(v), v, actions); err != nil {
			return nil, err
		}
		snap.CommitTime = info.ModTime
	}
	if snap.CommitTime.IsZero() {
		if info, ok := l.commits[target]; ok {
			snap.CommitTime = info.ModTime
		}
	}
	if err := snap.validate(fmt.Sprintf("version %d", target)); err != nil {
		return nil, err
	}
	return snap, nil
}

func (t *Table) readCommit(ctx context.Context, v int64) ([]Action, error) {
	b, err := t.store.Get(ctx, commitKey(v))
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s (version %d): %w", ErrCorrupt, commitKey(v), v, err)
		}
		return nil, fmt.Errorf("lakehouse: read %s: %w", commitKey(v), err)
	}
	return DecodeCommit(commitKey(v), v, b)
}
