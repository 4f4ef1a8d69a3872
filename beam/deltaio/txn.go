package deltaio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// AppID builds a txn app id "telcotraffic.<job>.<hash>" from the parts
// that define a run (inputs and their versions, settings). The same parts
// give the same id, so a retried run is recognised; changed inputs give a
// new id.
func AppID(job string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "telcotraffic." + job + "." + hex.EncodeToString(h.Sum(nil))[:20]
}

// CommitInfo is what FindCommit reports about a run's commit.
type CommitInfo struct {
	Version  int64
	Counters map[string]int64
	Params   map[string]string
	Partial  bool // the commit left quarantined units out
}

// maxScan bounds how far back FindCommit looks for a run's commit.
const maxScan = 10000

// FindCommit returns the commit of tab that carries the txn appID, or
// else appID+PartialSuffix (a commit that left quarantined units out;
// Partial is then set). found is false when the table holds neither.
func FindCommit(ctx context.Context, tab *lakehouse.Table, appID string) (info CommitInfo, found bool, err error) {
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		return info, false, fmt.Errorf("deltaio: %w", err)
	}
	if _, ok := snap.AppVersion(appID); !ok {
		if _, ok := snap.AppVersion(appID + PartialSuffix); !ok {
			return info, false, nil
		}
		appID += PartialSuffix
		info.Partial = true
	}
	// lakehouse has no API for "the version that wrote txn X"; read the
	// log backwards (the run's commit is almost always the newest ones).
	for v := snap.Version; v >= 0 && v > snap.Version-maxScan; v-- {
		key := fmt.Sprintf("_delta_log/%020d.json", v)
		b, err := tab.Store().Get(ctx, key)
		if errors.Is(err, storage.ErrNotExist) {
			break // cleaned up; the txn came from a checkpoint
		}
		if err != nil {
			return info, false, fmt.Errorf("deltaio: %w", err)
		}
		actions, err := lakehouse.DecodeCommit(key, v, b)
		if err != nil {
			return info, false, fmt.Errorf("deltaio: %w", err)
		}
		var ci map[string]any
		hit := false
		for _, a := range actions {
			if a.CommitInfo != nil {
				ci = a.CommitInfo
			}
			if a.Txn != nil && a.Txn.AppID == appID {
				hit = true
			}
		}
		if !hit {
			continue
		}
		info.Version = v
		info.Params = map[string]string{}
		if ps, ok := ci["operationParameters"].(map[string]any); ok {
			for k, val := range ps {
				if s, ok := val.(string); ok {
					info.Params[k] = s
				}
			}
		}
		if s := info.Params[ParamCounters]; s != "" {
			_ = json.Unmarshal([]byte(s), &info.Counters)
		}
		return info, true, nil
	}
	return CommitInfo{Version: -1}, true, nil
}

// TableStats summarises a snapshot from its add actions.
type TableStats struct {
	Version int64
	Files   int
	Rows    int64 // -1 when a file has no numRecords
}

// Stats returns the version, file count and row count of the latest
// snapshot of a table.
func Stats(ctx context.Context, spec TableSpec) (TableStats, error) {
	tab, err := spec.Open(ctx)
	if err != nil {
		return TableStats{Version: -1}, err
	}
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		return TableStats{Version: -1}, fmt.Errorf("deltaio: %w", err)
	}
	st := TableStats{Version: snap.Version}
	for _, a := range snap.Files() {
		st.Files++
		n := NumRecords(a)
		if n < 0 || st.Rows < 0 {
			st.Rows = -1
			continue
		}
		st.Rows += n
	}
	return st, nil
}
