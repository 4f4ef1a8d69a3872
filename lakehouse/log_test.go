package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse"
)

func TestCorruptLog(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "00000000000000000002.json (version 2) line"},
		{"garbage", func([]byte) []byte { return []byte("{not json\n") }, "00000000000000000002.json (version 2) line 1"},
		{"empty", func([]byte) []byte { return nil }, "00000000000000000002.json (version 2): empty"},
		{"two actions on a line", func([]byte) []byte { return []byte(`{"add":{"path":"x"},"txn":{"appId":"a","version":1}}` + "\n") }, "version 2) line 1: want one action"},
		{"null add", func([]byte) []byte { return []byte(`{"add":null}` + "\n") }, "version 2) line 1: add"},
		{"cut at a line boundary", func(b []byte) []byte {
			lines := bytes.SplitAfter(b, []byte("\n"))
			return bytes.Join(lines[:len(lines)-2], nil) // the last add gone, the file still parses
		}, "version 2): commitInfo records 5 added files, the file holds 4 (commit file cut short?)"},
		{"rows disagree", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"numOutputRows":"5"`), []byte(`"numOutputRows":"9"`), 1)
		}, "version 2): commitInfo records 9 rows written, the added files hold 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, store := localTable(t, lakehouse.Options{CheckpointInterval: -1})
			for i := 0; i < 3; i++ {
				must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(i*5, 5), nil))
			}
			p := filepath.Join(store.Root(), "_delta_log", "00000000000000000002.json")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, tc.mutate(b), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := tbl.Snapshot(ctx)
			if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Snapshot error = %v, want ErrCorrupt containing %q", err, tc.want)
			}
			// Versions before the damage still load.
			if s, err := tbl.SnapshotAt(ctx, 1); err != nil || s.Version != 1 {
				t.Fatalf("SnapshotAt(1) = %v", err)
			}
		})
	}
	t.Run("gap", func(t *testing.T) {
		tbl, store := localTable(t, lakehouse.Options{CheckpointInterval: -1})
		for i := 0; i < 3; i++ {
			must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(i*5, 5), nil))
		}
		os.Remove(filepath.Join(store.Root(), "_delta_log", "00000000000000000002.json"))
		_, err := tbl.Snapshot(ctx)
		if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), "00000000000000000002.json missing") {
			t.Fatalf("Snapshot with a gap = %v", err)
		}
	})
	t.Run("corrupt checkpoint", func(t *testing.T) {
		tbl, store := localTable(t, lakehouse.Options{CheckpointInterval: 2})
		for i := 0; i < 3; i++ {
			must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(i*5, 5), nil))
		}
		os.WriteFile(filepath.Join(store.Root(), "_delta_log", "00000000000000000002.checkpoint.parquet"), []byte("PAR1junk"), 0o644)
		_, err := tbl.Snapshot(ctx)
		if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), "00000000000000000002.checkpoint.parquet (version 2)") {
			t.Fatalf("Snapshot with a bad checkpoint = %v", err)
		}
	})
}

func FuzzDecodeCommit(f *testing.F) {
	f.Add([]byte(`{"commitInfo":{"timestamp":1}}` + "\n" + `{"add":{"path":"a=1/f.parquet","partitionValues":{"a":"1"},"size":3,"modificationTime":1,"dataChange":true,"stats":"{}"}}` + "\n"))
	f.Add([]byte(`{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}` + "\n" + `{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{}","partitionColumns":[],"configuration":{}}}`))
	f.Add([]byte(`{"remove":{"path":"p","deletionTimestamp":5,"dataChange":true}}` + "\n" + `{"txn":{"appId":"a","version":3}}`))
	f.Add([]byte(`{"cdc":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		actions, err := lakehouse.DecodeCommit("_delta_log/00000000000000000001.json", 1, data)
		if err != nil {
			if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), "00000000000000000001.json (version 1)") {
				t.Fatalf("error %v does not name the file and version", err)
			}
			return
		}
		for _, a := range actions {
			n := 0
			for _, set := range []bool{a.CommitInfo != nil, a.Protocol != nil, a.Metadata != nil, a.Add != nil, a.Remove != nil, a.Txn != nil, a.Other != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("action with %d kinds set: %+v", n, a)
			}
			if a.Add != nil && a.Add.Path == "" {
				t.Fatal("add without path accepted")
			}
		}
	})
}

func TestTimeTravel(t *testing.T) {
	ctx := context.Background()
	tbl, store := localTable(t, lakehouse.Options{CheckpointInterval: 2})
	for i := 0; i < 4; i++ {
		must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(i*5, 5), nil))
	}
	// Pin commit file times an hour apart.
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for v := 0; v <= 4; v++ {
		p := filepath.Join(store.Root(), "_delta_log", strings.Repeat("0", 19)+string(rune('0'+v))+".json")
		ts := t0.Add(time.Duration(v) * time.Hour)
		if err := os.Chtimes(p, ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{t0, 0}, {t0.Add(90 * time.Minute), 1}, {t0.Add(3 * time.Hour), 3}, {t0.Add(100 * time.Hour), 4},
	} {
		s, err := tbl.SnapshotAsOf(ctx, tc.at)
		if err != nil || s.Version != tc.want {
			t.Errorf("SnapshotAsOf(%s) = %v, %v; want version %d", tc.at, s, err, tc.want)
			continue
		}
		if n := len(goRead(t, tbl, s)); n != int(tc.want)*5 {
			t.Errorf("version %d: %d rows", tc.want, n)
		}
	}
	if _, err := tbl.SnapshotAsOf(ctx, t0.Add(-time.Hour)); !errors.Is(err, lakehouse.ErrVersionNotFound) {
		t.Errorf("before creation: %v", err)
	}
	if _, err := tbl.SnapshotAt(ctx, 9); !errors.Is(err, lakehouse.ErrVersionNotFound) {
		t.Errorf("SnapshotAt(9): %v", err)
	}
}

func TestPruning(t *testing.T) {
	ctx := context.Background()
	tbl, _ := localTable(t, lakehouse.Options{})
	for i := 0; i < 4; i++ { // ids in disjoint ranges per commit
		must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(i*100, 30), nil))
	}
	snap := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
	all := goRead(t, tbl, snap)
	for _, tc := range []struct {
		name    string
		filters []lakehouse.Filter
		match   func(r row) bool
		files   int
	}{
		{"partition eq", []lakehouse.Filter{{Column: "week", Op: lakehouse.Eq, Value: "2022-W10"}}, func(r row) bool { return r.Week == "2022-W10" }, 12},
		{"partition in", []lakehouse.Filter{{Column: "app", Op: lakehouse.In, Values: []any{"web", "video call"}}}, func(r row) bool { return r.App != "a:b%c/d=é" }, 16},
		{"stats long ge", []lakehouse.Filter{{Column: "id", Op: lakehouse.Ge, Value: 300}}, func(r row) bool { return r.ID >= 300 }, 6},
		{"stats long lt", []lakehouse.Filter{{Column: "id", Op: lakehouse.Lt, Value: int32(100)}}, func(r row) bool { return r.ID < 100 }, 6},
		{"stats time", []lakehouse.Filter{{Column: "ts", Op: lakehouse.Gt, Value: base.Add(250 * time.Second)}}, func(r row) bool { return r.TS.After(base.Add(250 * time.Second)) }, 6},
		{"stats string", []lakehouse.Filter{{Column: "sni", Op: lakehouse.Eq, Value: "zzz"}}, func(r row) bool { return false }, 0},
		{"both", []lakehouse.Filter{{Column: "week", Op: lakehouse.Eq, Value: "2022-W11"}, {Column: "dur", Op: lakehouse.Le, Value: 10.0}}, func(r row) bool { return r.Week == "2022-W11" && r.Dur <= 10 }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := snap.Files(tc.filters...)
			if len(files) != tc.files {
				t.Errorf("files = %d, want %d", len(files), tc.files)
			}
			got := map[int64]bool{}
			for _, r := range goRead(t, tbl, snap, tc.filters...) {
				got[r.ID] = true
			}
			for _, r := range all {
				if tc.match(r) && !got[r.ID] {
					t.Fatalf("row %d matches but its file was pruned", r.ID)
				}
			}
		})
	}
}

// TestPartitionValueNotUTF8: a partition value that is not valid UTF-8 is
// refused before any file is written (its folder would hold raw bytes while
// the log, and every reader, spell it in UTF-8: the file would be lost).
func TestPartitionValueNotUTF8(t *testing.T) {
	ctx := context.Background()
	tbl, store := localTable(t, lakehouse.Options{})
	rows := makeRows(0, 3)
	for i := range rows {
		rows[i].App = "bad\xffapp"
	}
	_, err := lakehouse.Append(ctx, tbl, rows, nil)
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Fatalf("append with a non-UTF-8 partition value: %v", err)
	}
	objs, err := store.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, "_delta_log/") {
			t.Errorf("file %q written", o.Key)
		}
	}
}
