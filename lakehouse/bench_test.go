package lakehouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

const benchRows = 100_000

// BenchmarkWrite appends benchRows rows (6 partitions) to a local table
// and, on the same rows, times delta-rs write_deltalake; it reports both
// throughputs and their ratio (ours / delta-rs, goal >= 1).
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	rows := makeRows(0, benchRows)
	var ours time.Duration
	for i := 0; i < b.N; i++ {
		s, err := storage.NewLocal(filepath.Join(b.TempDir(), "t"))
		if err != nil {
			b.Fatal(err)
		}
		tbl, err := lakehouse.Create[row](ctx, s, lakehouse.CreateOptions{PartitionColumns: []string{"week", "app"}}, lakehouse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := lakehouse.Append(ctx, tbl, rows, nil); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
	}
	b.StopTimer()
	oursRate := float64(benchRows*b.N) / ours.Seconds()
	var theirs float64
	for i := 0; i < b.N; i++ {
		out := runPython(b, nil, "delta_bench.py", filepath.Join(b.TempDir(), "rs"), strconv.Itoa(benchRows))
		sec, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			b.Fatal(err)
		}
		theirs += sec
	}
	theirsRate := float64(benchRows*b.N) / theirs
	b.ReportMetric(oursRate, "rows/s")
	b.ReportMetric(theirsRate, "deltars_rows/s")
	b.ReportMetric(oursRate/theirsRate, "ratio")
	fmt.Fprintf(os.Stderr, "lakehouse write: ours %.0f rows/s, delta-rs %.0f rows/s, ratio %.2f\n", oursRate, theirsRate, oursRate/theirsRate)
}

// BenchmarkSnapshotLoad loads the latest snapshot of a 1,000-commit table
// with checkpoints (every 10 commits) and without (pure JSON replay).
func BenchmarkSnapshotLoad(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "t")
	s, err := storage.NewLocal(dir)
	if err != nil {
		b.Fatal(err)
	}
	tbl, err := lakehouse.Create[row](ctx, s, lakehouse.CreateOptions{PartitionColumns: []string{"week", "app"}}, lakehouse.Options{CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	// The log is written directly (one commitInfo + one add per version):
	// building it through Commit would replay the log 1,000 times.
	for v := 1; v <= 1000; v++ {
		pv := map[string]string{"week": fmt.Sprintf("w%d", v%7), "app": "a"}
		info, _ := json.Marshal(map[string]any{"commitInfo": map[string]any{"timestamp": v, "operation": "WRITE"}})
		add, _ := json.Marshal(map[string]any{"add": lakehouse.Add{Path: fmt.Sprintf("week=w%d/app=a/part-%d.parquet", v%7, v),
			PartitionValues: pv, Size: 100, ModificationTime: 1, DataChange: true, Stats: `{"numRecords":1}`}})
		line := string(info) + "\n" + string(add) + "\n"
		if err := s.PutIfAbsent(ctx, fmt.Sprintf("_delta_log/%020d.json", v), []byte(line)); err != nil {
			b.Fatal(err)
		}
	}
	if v, err := tbl.Checkpoint(ctx); err != nil || v != 1000 {
		b.Fatalf("checkpoint %d: %v", v, err)
	}
	load := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			snap, err := tbl.Snapshot(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if snap.Version != 1000 || snap.NumFiles() != 1000 {
				b.Fatalf("version %d, %d files", snap.Version, snap.NumFiles())
			}
		}
	}
	b.Run("checkpoints", load)
	matches, _ := filepath.Glob(filepath.Join(dir, "_delta_log", "*.checkpoint.parquet"))
	for _, m := range append(matches, filepath.Join(dir, "_delta_log", "_last_checkpoint")) {
		os.Remove(m)
	}
	b.Run("json-only", load)
}
