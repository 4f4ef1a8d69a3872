package lakehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

// row mirrors the shape of the project's flow rows: every supported type,
// a list column and two string partition columns.
type row struct {
	ID   int64     `parquet:"id"`
	TS   time.Time `parquet:"ts,timestamp(microsecond)"`
	Dur  float64   `parquet:"dur"`
	Port int32     `parquet:"port"`
	Flag bool      `parquet:"flag"`
	SNI  string    `parquet:"sni"`
	PPI  []int32   `parquet:"ppi,list"`
	Week string    `parquet:"week"`
	App  string    `parquet:"app"`
}

var base = time.Date(2022, 3, 7, 0, 0, 0, 0, time.UTC)

// makeRows builds n rows with ids from start; apps include characters that
// need escaping in paths.
func makeRows(start, n int) []row {
	out := make([]row, n)
	for k := range out {
		i := int64(start + k)
		out[k] = row{
			ID: i, TS: base.Add(time.Duration(i) * 1_000_123 * time.Microsecond), Dur: float64(i) / 8,
			Port: 443 + int32(i%3), Flag: i%2 == 0, SNI: fmt.Sprintf("host-%d.example", i%5),
			PPI: []int32{int32(i), -int32(i), 3}, Week: fmt.Sprintf("2022-W%d", 10+i%2),
			App: []string{"web", "video call", "a:b%c/d=é"}[i%3],
		}
	}
	return out
}

// plain renders rows the way delta_read.py prints them.
func plain(rows []row) []map[string]any {
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		ppi := make([]any, len(r.PPI))
		for j, v := range r.PPI {
			ppi[j] = float64(v)
		}
		out[i] = map[string]any{"id": float64(r.ID), "ts": float64(r.TS.UnixMicro()), "dur": r.Dur, "port": float64(r.Port),
			"flag": r.Flag, "sni": r.SNI, "ppi": ppi, "week": r.Week, "app": r.App}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["id"].(float64) < out[j]["id"].(float64) })
	return out
}

func sortRows(rows []row) []row {
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows
}

// env is one storage backend with what a peer process needs to reach it.
type env struct {
	name   string
	newTbl func(t *testing.T, name string) (storage.Storage, string) // store, URI for delta-rs
	peer   []string
}

func envs(t *testing.T) []env {
	gw := testenv.StartGateway(t)
	n := 0
	return []env{
		{name: "local", newTbl: func(t *testing.T, name string) (storage.Storage, string) {
			dir := filepath.Join(t.TempDir(), name)
			s, err := storage.NewLocal(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s, dir
		}},
		{name: "s3", peer: gw.Env(), newTbl: func(t *testing.T, name string) (storage.Storage, string) {
			n++
			bucket := fmt.Sprintf("lake%d", n)
			s := gw.Bucket(t, bucket, "tables/"+name)
			return s, s.URI()
		}},
	}
}

func runPython(t testing.TB, extraEnv []string, script string, args ...string) []byte {
	t.Helper()
	py := testenv.Python(t)
	cmd := exec.Command(py, append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, stderr.String())
	}
	return out
}

type peerView struct {
	Version          int64            `json:"version"`
	Schema           json.RawMessage  `json:"schema"`
	PartitionColumns []string         `json:"partition_columns"`
	NumFiles         int              `json:"num_files"`
	Rows             []map[string]any `json:"rows"`
}

// deltaRead reads the table with delta-rs.
func deltaRead(t *testing.T, e env, uri string, version int64) peerView {
	t.Helper()
	args := []string{uri}
	if version >= 0 {
		args = append(args, fmt.Sprint(version))
	}
	var v peerView
	if err := json.Unmarshal(runPython(t, e.peer, "delta_read.py", args...), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// goRead reads all rows of a snapshot with our reader.
func goRead(t *testing.T, tbl *lakehouse.Table, snap *lakehouse.Snapshot, filters ...lakehouse.Filter) []row {
	t.Helper()
	var out []row
	for r, err := range lakehouse.Rows[row](context.Background(), tbl, snap, filters...) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return sortRows(out)
}

func createTable(t *testing.T, s storage.Storage, opts lakehouse.Options) *lakehouse.Table {
	t.Helper()
	tbl, err := lakehouse.Create[row](context.Background(), s, lakehouse.CreateOptions{Name: "flows", PartitionColumns: []string{"week", "app"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestRoundTripLocal(t *testing.T) {
	ctx := context.Background()
	s, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl := createTable(t, s, lakehouse.Options{})
	rows := makeRows(0, 30)
	res := must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, rows, nil))
	if res.Version != 1 {
		t.Fatalf("version = %d, want 1", res.Version)
	}
	snap := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
	if snap.NumFiles() != 6 {
		t.Errorf("files = %d, want 6 (one per partition)", snap.NumFiles())
	}
	if d := cmp.Diff(rows, goRead(t, tbl, snap)); d != "" {
		t.Fatalf("rows -want +got:\n%s", d)
	}
}
