package lakehouse_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

var wantTypes = map[string]string{"id": `"long"`, "ts": `"timestamp"`, "dur": `"double"`, "port": `"integer"`,
	"flag": `"boolean"`, "sni": `"string"`, "ppi": `{"containsNull":false,"elementType":"integer","type":"array"}`,
	"week": `"string"`, "app": `"string"`}

func checkSchema(t *testing.T, raw json.RawMessage) {
	t.Helper()
	var s struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range s.Fields {
		var v any
		_ = json.Unmarshal(f.Type, &v)
		b, _ := json.Marshal(v) // canonical key order
		got[f.Name] = string(b)
	}
	if d := cmp.Diff(wantTypes, got); d != "" {
		t.Errorf("delta-rs schema -want +got:\n%s", d)
	}
}

// TestDeltaRSReadsOurTables writes every kind of commit we make (appends,
// replace-where, partition delete, compaction, checkpoints) and checks that
// delta-rs reads every version with the same rows, schema and partition
// values as our own reader, on local disk and on S3 (versitygw).
func TestDeltaRSReadsOurTables(t *testing.T) {
	ctx := context.Background()
	for _, e := range envs(t) {
		t.Run(e.name, func(t *testing.T) {
			store, uri := e.newTbl(t, "flows")
			// Small row groups, so that compaction copies most of them
			// verbatim (and packs the rest).
			tbl := createTable(t, store, lakehouse.Options{CheckpointInterval: 3, RowGroupRows: 4})
			model := map[int64]row{}
			versions := [][]row{nil} // expected rows per version
			record := func(res lakehouse.CommitResult, err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				if res.CheckpointErr != nil {
					t.Fatalf("checkpoint: %v", res.CheckpointErr)
				}
				if int(res.Version) != len(versions) {
					t.Fatalf("committed version %d, want %d", res.Version, len(versions))
				}
				versions = append(versions, sortRows(slices.Collect(maps.Values(model))))
			}
			add := func(rows []row) {
				for _, r := range rows {
					model[r.ID] = r
				}
			}
			// v1, v2: appends.
			first := makeRows(0, 30)
			add(first)
			record(lakehouse.Append(ctx, tbl, first, nil))
			second := makeRows(30, 30)
			add(second)
			record(lakehouse.Append(ctx, tbl, second, nil))
			// v3: replace week 2022-W10 (checkpoint follows).
			var w10 []row
			for _, r := range makeRows(100, 20) {
				if r.Week == "2022-W10" {
					w10 = append(w10, r)
				}
			}
			for id, r := range model {
				if r.Week == "2022-W10" {
					delete(model, id)
				}
			}
			add(w10)
			record(lakehouse.Write(ctx, tbl, w10, lakehouse.WriteOptions{Mode: lakehouse.ModeReplaceWhere,
				Partitions: []map[string]string{{"week": "2022-W10"}}}))
			// v4: delete app=web.
			for id, r := range model {
				if r.App == "web" {
					delete(model, id)
				}
			}
			record(tbl.DeletePartitions(ctx, []map[string]string{{"app": "web"}}, nil))
			// v5: one more append, v6: compaction (checkpoint follows).
			third := makeRows(200, 12)
			add(third)
			record(lakehouse.Append(ctx, tbl, third, nil))
			before := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx)).NumFiles()
			opt, err := lakehouse.Optimize[row](ctx, tbl)
			if err != nil {
				t.Fatal(err)
			}
			record(lakehouse.CommitResult{Version: opt.Version}, nil)
			after := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx)).NumFiles()
			if opt.FilesRemoved == 0 || after >= before || opt.RowsCopied == 0 {
				t.Errorf("optimize: %+v, files %d -> %d", opt, before, after)
			}
			// v7: overwrite everything.
			clear(model)
			fourth := makeRows(300, 9)
			add(fourth)
			record(lakehouse.Write(ctx, tbl, fourth, lakehouse.WriteOptions{Mode: lakehouse.ModeOverwrite}))

			for v, want := range versions {
				if v == 0 {
					continue
				}
				snap := must[*lakehouse.Snapshot](t)(tbl.SnapshotAt(ctx, int64(v)))
				if d := cmp.Diff(want, goRead(t, tbl, snap)); d != "" {
					t.Errorf("version %d: our reader -want +got:\n%s", v, d)
				}
				peer := deltaRead(t, e, uri, int64(v))
				if peer.Version != int64(v) {
					t.Errorf("delta-rs version = %d, want %d", peer.Version, v)
				}
				if d := cmp.Diff(plain(want), peer.Rows); d != "" {
					t.Errorf("version %d: delta-rs rows -want +got:\n%s", v, d)
				}
				if peer.NumFiles != snap.NumFiles() {
					t.Errorf("version %d: delta-rs sees %d files, we %d", v, peer.NumFiles, snap.NumFiles())
				}
				if v == len(versions)-1 {
					checkSchema(t, peer.Schema)
					if d := cmp.Diff([]string{"week", "app"}, peer.PartitionColumns); d != "" {
						t.Errorf("partition columns -want +got:\n%s", d)
					}
				}
			}
			latest := deltaRead(t, e, uri, -1)
			if latest.Version != int64(len(versions)-1) {
				t.Errorf("delta-rs latest = %d, want %d", latest.Version, len(versions)-1)
			}
		})
	}
}

// TestWeReadDeltaRSTables reads tables written by delta-rs, with and
// without its checkpoint, at the latest and an older version; then appends
// to one and has delta-rs read the result.
func TestWeReadDeltaRSTables(t *testing.T) {
	ctx := context.Background()
	for _, e := range envs(t) {
		for _, checkpoint := range []bool{false, true} {
			name := e.name + map[bool]string{false: "/json", true: "/checkpoint"}[checkpoint]
			t.Run(name, func(t *testing.T) {
				store, uri := e.newTbl(t, "rs")
				args := []string{uri, "10", "3"}
				if checkpoint {
					args = append(args, "checkpoint")
				}
				var written []map[string]any
				if err := json.Unmarshal(runPython(t, e.peer, "delta_write.py", args...), &written); err != nil {
					t.Fatal(err)
				}
				tbl := must[*lakehouse.Table](t)(lakehouse.Open(ctx, store, lakehouse.Options{}))
				if checkpoint {
					objs, _ := store.List(ctx, "_delta_log/", "")
					found := false
					for _, o := range objs {
						found = found || o.Key == "_delta_log/00000000000000000002.checkpoint.parquet"
					}
					if !found {
						t.Fatalf("delta-rs wrote no checkpoint: %v", objs)
					}
				}
				snap := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
				if snap.Version != 2 {
					t.Fatalf("version = %d, want 2", snap.Version)
				}
				if d := cmp.Diff(written, plain(goRead(t, tbl, snap))); d != "" {
					t.Errorf("rows -delta-rs +ours:\n%s", d)
				}
				old := must[*lakehouse.Snapshot](t)(tbl.SnapshotAt(ctx, 0))
				if d := cmp.Diff(written[:10], plain(goRead(t, tbl, old))); d != "" {
					t.Errorf("version 0 rows -delta-rs +ours:\n%s", d)
				}
				more := makeRows(1000, 6)
				res, err := lakehouse.Append(ctx, tbl, more, nil)
				if err != nil {
					t.Fatal(err)
				}
				peer := deltaRead(t, e, uri, -1)
				if peer.Version != res.Version {
					t.Errorf("delta-rs version %d, want %d", peer.Version, res.Version)
				}
				want := append(slices.Clone(written), plain(more)...)
				if d := cmp.Diff(want, peer.Rows); d != "" {
					t.Errorf("after our append: delta-rs rows -want +got:\n%s", d)
				}
			})
		}
	}
}

// TestDeltaRSReadsStreamedFiles: data files streamed a few rows at a time
// through FileWriter (small pages and page chunks, as the parse job's open
// files have) with the snappy codec are read by delta-rs with the same rows
// as our reader, and their stats count the rows.
func TestDeltaRSReadsStreamedFiles(t *testing.T) {
	ctx := context.Background()
	for _, e := range envs(t) {
		t.Run(e.name, func(t *testing.T) {
			store, uri := e.newTbl(t, "flows")
			tbl := createTable(t, store, lakehouse.Options{Compression: "snappy", RowGroupRows: 16})
			w, err := lakehouse.NewWriter[row](ctx, tbl)
			if err != nil {
				t.Fatal(err)
			}
			rows := makeRows(0, 90)
			files := map[string]*lakehouse.FileWriter[row]{}
			var keys []string
			for i := range rows {
				pv := w.PartitionValues(&rows[i])
				k := pv["week"] + "/" + pv["app"]
				fw := files[k]
				if fw == nil {
					fw, err = w.NewFileWriter(pv, parquet.PageBufferSize(256), parquet.ColumnPageBuffers(parquet.NewChunkBufferPool(64)))
					if err != nil {
						t.Fatal(err)
					}
					files[k] = fw
					keys = append(keys, k)
				}
				if err := fw.Write(rows[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
			var adds []lakehouse.Add
			var counted int64
			for _, k := range keys {
				a, ok, err := files[k].Close(ctx)
				if err != nil || !ok {
					t.Fatalf("close %s: ok %v, %v", k, ok, err)
				}
				var st struct {
					NumRecords int64 `json:"numRecords"`
				}
				if err := json.Unmarshal([]byte(a.Stats), &st); err != nil {
					t.Fatal(err)
				}
				counted += st.NumRecords
				if !strings.HasSuffix(a.Path, ".snappy.parquet") {
					t.Errorf("file %s: want a .snappy.parquet", a.Path)
				}
				adds = append(adds, a)
			}
			if counted != int64(len(rows)) {
				t.Errorf("stats count %d rows, wrote %d", counted, len(rows))
			}
			res, err := tbl.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeAppend, Adds: adds})
			if err != nil {
				t.Fatal(err)
			}
			snap := must[*lakehouse.Snapshot](t)(tbl.SnapshotAt(ctx, res.Version))
			want := sortRows(rows)
			if d := cmp.Diff(want, goRead(t, tbl, snap)); d != "" {
				t.Errorf("our reader -want +got:\n%s", d)
			}
			peer := deltaRead(t, e, uri, res.Version)
			if d := cmp.Diff(plain(want), peer.Rows); d != "" {
				t.Errorf("delta-rs rows -want +got:\n%s", d)
			}
			if peer.NumFiles != len(keys) {
				t.Errorf("delta-rs sees %d files, we wrote %d", peer.NumFiles, len(keys))
			}
		})
	}
}
