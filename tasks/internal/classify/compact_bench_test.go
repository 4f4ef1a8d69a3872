package classify_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
)

var compactRealFiles = flag.Int("compact-real-files", 2,
	"BenchmarkTrainReadCompaction/real: files of 65,536 rows per day (a real-size day of ~2 M flows is ~32; 0 skips)")

// BenchmarkTrainReadCompaction: train's lake read (OpenLakeSource, Days,
// Scan) of 4 weeks of flow_features laid out as the features job writes a
// day (several unit files per day), then the same after each week is
// compacted (lakehouse.OptimizeWhere of the week, as pipeline
// --job=compact does). Reports the files and ns per row of both and the
// speed-up (before/after), and the CPU time of the compaction per row
// with the share of rows whose row groups it copied without decoding.
func BenchmarkTrainReadCompaction(b *testing.B) {
	const weeks, perDay, filesPerDay = 4, 4000, 8
	// full: each file is one full row group (as the features job writes a
	// real day: 65,536-row files of 65,536-row groups), which compaction
	// copies verbatim; small: row groups far under the table's row group
	// size (the small files of a small day), which it decodes and packs.
	b.Run("full", func(b *testing.B) { benchTrainReadCompaction(b, weeks, perDay, filesPerDay, perDay/filesPerDay) })
	b.Run("small", func(b *testing.B) { benchTrainReadCompaction(b, weeks, perDay, filesPerDay, 0) })
	// real: files of the real size (65,536 rows, one full row group of the
	// table's default size, ~6 MB), -compact-real-files of them per day;
	// a real day has ~32, so the per-file costs per row are those of a
	// real-size month with fewer rows (3.7 M at the default 2).
	if n := *compactRealFiles; n > 0 {
		b.Run("real", func(b *testing.B) { benchTrainReadCompaction(b, weeks, n*realFileRows, n, 0) })
	}
}

// realFileRows is the row count of a features data file at real volume
// (deltaio.DefaultFileRows, also the table's row group size).
const realFileRows = 65536

func benchTrainReadCompaction(b *testing.B, weeks, perDay, filesPerDay, rowGroupRows int) {
	ctx := context.Background()
	lake := b.TempDir()
	store, err := storage.Open(ctx, catalog.FlowFeatures.URI(lake), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tab, err := lakehouse.Create[tablerow.FlowFeatures](ctx, store, lakehouse.CreateOptions{
		Name: catalog.FlowFeatures.Name, PartitionColumns: catalog.FlowFeatures.PartitionBy}, lakehouse.Options{RowGroupRows: rowGroupRows})
	if err != nil {
		b.Fatal(err)
	}
	w, err := lakehouse.NewWriter[tablerow.FlowFeatures](ctx, tab)
	if err != nil {
		b.Fatal(err)
	}
	apps := classifytest.Apps(20)
	start := time.Date(2022, 3, 7, 0, 0, 0, 0, time.UTC)
	var adds []lakehouse.Add
	rows := 0
	for d := range weeks * 7 {
		day := start.AddDate(0, 0, d)
		rs := classifytest.Rows(uint64(d), apps, nil, perDay, day, classifytest.Options{})
		rows += len(rs)
		for i := range filesPerDay {
			part := rs[i*perDay/filesPerDay : (i+1)*perDay/filesPerDay]
			a, err := w.WriteDataFile(ctx, map[string]string{"week": part[0].Week}, part)
			if err != nil {
				b.Fatal(err)
			}
			adds = append(adds, a...)
		}
	}
	if _, err := tab.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeAppend, Adds: adds,
		OperationParameters: map[string]any{"telcotraffic.features": "sni_buckets=4096 ja3_buckets=1024"}}); err != nil {
		b.Fatal(err)
	}
	end := start.AddDate(0, 0, weeks*7-1)
	var readCPU time.Duration // of the last read
	read := func() (time.Duration, int) {
		t0, cpu0 := time.Now(), testenv.CPUTime()
		defer func() { readCPU = testenv.CPUTime() - cpu0 }()
		src, err := classify.OpenLakeSource(ctx, lake, -1, storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := src.Days(ctx); err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := src.Scan(ctx, start, end, func(*tablerow.FlowFeatures) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != rows {
			b.Fatalf("read %d rows, wrote %d", n, rows)
		}
		return time.Since(t0), n
	}
	files := func() (n int, mb float64) {
		snap, err := tab.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range snap.Files() {
			mb += float64(a.Size) / 1e6
		}
		return snap.NumFiles(), mb
	}
	filesBefore, mbBefore := files()
	before, _ := read()
	cpuBefore := readCPU
	cpu0 := testenv.CPUTime()
	var copied int64
	for wk := range weeks {
		week := cesnet.WeekLabel(start.AddDate(0, 0, 7*wk))
		res, err := lakehouse.OptimizeWhere[tablerow.FlowFeatures](ctx, tab, func(pv map[string]string) bool { return pv["week"] == week })
		if err != nil {
			b.Fatal(err)
		}
		copied += res.RowsCopied
	}
	compactCPU := testenv.CPUTime() - cpu0
	filesAfter, _ := files()
	// The timed loop reads the compacted table.
	b.ResetTimer()
	var after time.Duration
	for range b.N {
		d, _ := read()
		after += d
	}
	after /= time.Duration(b.N)
	b.ReportMetric(float64(filesBefore), "files_before")
	b.ReportMetric(float64(filesAfter), "files_after")
	b.ReportMetric(mbBefore/float64(filesBefore), "MB/file_before")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(before.Nanoseconds())/float64(rows), "ns/row_before")
	b.ReportMetric(float64(after.Nanoseconds())/float64(rows), "ns/row_after")
	b.ReportMetric(before.Seconds()/after.Seconds(), "speedup")
	b.ReportMetric(cpuBefore.Seconds()*1e6/float64(rows), "read_cpu_us/row_before")
	b.ReportMetric(readCPU.Seconds()*1e6/float64(rows), "read_cpu_us/row_after")
	b.ReportMetric(compactCPU.Seconds()*1e6/float64(rows), "compact_cpu_us/row")
	b.ReportMetric(float64(copied)/float64(rows), "copied_frac")
}
