package parse

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// TestSinkBounds parses a day of 3,000 flows over 40 apps with small
// bounds: every row arrives once, no file exceeds FileRows, the open-rows
// bound closes files early (more files than partitions), and Abort deletes
// what was written.
func TestSinkBounds(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, _ := time.Parse(time.DateOnly, "2022-03-07")
	const n, apps = 3000, 40
	p, err := flowgen.WriteDay(root, d, "csv.gz", flowgen.Encode(flowgen.Day(d, n, apps, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, p)
	in := Input{Root: root, Key: filepath.ToSlash(rel), Day: "2022-03-07"}
	lake := t.TempDir()
	flows, _, err := deltaio.OpenOrCreate[cesnet.Flow](ctx, deltaio.TableSpec{Lake: lake, Name: FlowsTable, PartitionBy: []string{"week", "app"}, Compression: FlowsCompression})
	if err != nil {
		t.Fatal(err)
	}
	rejects, _, err := deltaio.OpenOrCreate[cesnet.Reject](ctx, deltaio.TableSpec{Lake: lake, Name: RejectsTable, PartitionBy: []string{"week"}})
	if err != nil {
		t.Fatal(err)
	}
	const fileRows, maxRows = 100, 50 // open rows: sinkOpenFactor × 50
	m, err := parseFile(ctx, in, flows, rejects, &parseFileFn{WriteFlows: true, WriteRejects: true, FileRows: fileRows, MaxRows: maxRows})
	if err != nil {
		t.Fatal(err)
	}
	if m.Quarantined != "" || m.Counters[CounterRowsWritten] != n {
		t.Fatalf("manifest: quarantined %q, counters %v", m.Quarantined, m.Counters)
	}
	var total int64
	parts := map[string]bool{}
	for _, a := range m.Adds[FlowsTable] {
		var st struct {
			NumRecords int64 `json:"numRecords"`
		}
		if err := json.Unmarshal([]byte(a.Stats), &st); err != nil {
			t.Fatal(err)
		}
		if st.NumRecords > fileRows || st.NumRecords == 0 {
			t.Errorf("%s: %d rows (FileRows %d)", a.Path, st.NumRecords, fileRows)
		}
		total += st.NumRecords
		parts[a.PartitionValues["app"]] = true
	}
	if total != n {
		t.Errorf("files hold %d rows, want %d", total, n)
	}
	if len(m.Adds[FlowsTable]) <= len(parts) {
		t.Errorf("%d files for %d partitions: the bounds closed none early", len(m.Adds[FlowsTable]), len(parts))
	}

	// Abort deletes the files written so far.
	s, err := newFlowSink(ctx, flows, fileRows, maxRows)
	if err != nil {
		t.Fatal(err)
	}
	var b batcher
	b.sink, b.release = s, func([]byte) {}
	rows := flowgen.Day(d, 500, apps, 2)
	for i := range rows {
		rows[i].Day, rows[i].Week = "2022-03-07", "2022-W10"
		if err := b.add(ctx, &rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.flush(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	written := append([]string(nil), pathsOf(s)...)
	s.mu.Unlock()
	if len(written) == 0 {
		t.Fatal("no file closed before Abort")
	}
	if err := s.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range written {
		fp, err := lakehouse.FilePath(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := flows.Store().Stat(ctx, fp); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("%s after Abort: %v, want ErrNotExist", fp, err)
		}
	}
}

func pathsOf(s *flowSink) []string {
	var out []string
	for _, a := range s.adds {
		out = append(out, a.Path)
	}
	return out
}
