package lakehouse_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

func localTable(t *testing.T, opts lakehouse.Options) (*lakehouse.Table, *storage.Local) {
	s, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return createTable(t, s, opts), s
}

func TestIdempotentTxn(t *testing.T) {
	ctx := context.Background()
	tbl, _ := localTable(t, lakehouse.Options{})
	txn := &lakehouse.Txn{AppID: "parse-2022-W10", Version: 7}
	first := must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(0, 10), txn))
	again := must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(0, 10), txn))
	if first.Skipped || !again.Skipped || again.Version != first.Version {
		t.Fatalf("first %+v, rerun %+v: want the rerun skipped at version %d", first, again, first.Version)
	}
	older := must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(0, 10), &lakehouse.Txn{AppID: "parse-2022-W10", Version: 6}))
	if !older.Skipped {
		t.Fatalf("older txn version not skipped: %+v", older)
	}
	next := must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(10, 10), &lakehouse.Txn{AppID: "parse-2022-W10", Version: 8}))
	if next.Skipped || next.Version != 2 {
		t.Fatalf("next txn: %+v", next)
	}
	snap := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
	if v, _ := snap.AppVersion("parse-2022-W10"); v != 8 {
		t.Errorf("AppVersion = %d, want 8", v)
	}
	if n := len(goRead(t, tbl, snap)); n != 20 {
		t.Errorf("rows = %d, want 20", n)
	}
}

// TestConcurrentWriters: 8 goroutines append at once; every commit lands,
// versions are 1..N without gaps or duplicates, and all rows are there.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	for _, e := range envs(t) {
		t.Run(e.name, func(t *testing.T) {
			store, _ := e.newTbl(t, "conc")
			tbl := createTable(t, store, lakehouse.Options{CheckpointInterval: 5})
			const writers, commits = 8, 3
			var wg sync.WaitGroup
			versions := make(chan int64, writers*commits)
			errs := make(chan error, writers*commits)
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for c := 0; c < commits; c++ {
						res, err := lakehouse.Append(ctx, tbl, makeRows((w*commits+c)*10, 10), nil)
						if err != nil {
							errs <- err
							return
						}
						versions <- res.Version
					}
				}()
			}
			wg.Wait()
			close(versions)
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			checkVersions(t, versions, writers*commits)
			snap := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
			if got := len(goRead(t, tbl, snap)); got != writers*commits*10 {
				t.Errorf("rows = %d, want %d", got, writers*commits*10)
			}
		})
	}
}

func checkVersions(t *testing.T, versions <-chan int64, n int) {
	t.Helper()
	seen := map[int64]bool{}
	for v := range versions {
		if seen[v] {
			t.Errorf("version %d returned twice", v)
		}
		seen[v] = true
	}
	for v := int64(1); v <= int64(n); v++ {
		if !seen[v] {
			t.Errorf("version %d missing", v)
		}
	}
}

// TestConcurrentProcesses re-executes the test binary as 8 writer
// processes appending to one local table.
func TestConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("LAKEHOUSE_CHILD_TABLE"); dir != "" {
		childWriter(t, dir)
		return
	}
	ctx := context.Background()
	tbl, store := localTable(t, lakehouse.Options{CheckpointInterval: 4})
	const procs, commits = 8, 3
	var wg sync.WaitGroup
	outs := make([]string, procs)
	errs := make([]error, procs)
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), "LAKEHOUSE_CHILD_TABLE="+store.Root(), fmt.Sprintf("LAKEHOUSE_CHILD_ID=%d", p),
				fmt.Sprintf("LAKEHOUSE_CHILD_COMMITS=%d", commits))
			out, err := cmd.CombinedOutput()
			outs[p], errs[p] = string(out), err
		}()
	}
	wg.Wait()
	versions := make(chan int64, procs*commits)
	for p := range outs {
		if errs[p] != nil {
			t.Fatalf("writer %d: %v\n%s", p, errs[p], outs[p])
		}
		for _, line := range strings.Split(outs[p], "\n") {
			if v, ok := strings.CutPrefix(line, "committed "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				versions <- n
			}
		}
	}
	close(versions)
	if len(versions) != procs*commits {
		t.Fatalf("%d commits reported, want %d", len(versions), procs*commits)
	}
	checkVersions(t, versions, procs*commits)
	snap := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
	if snap.Version != procs*commits {
		t.Errorf("latest version %d, want %d", snap.Version, procs*commits)
	}
	ids := map[int64]bool{}
	for _, r := range goRead(t, tbl, snap) {
		if ids[r.ID] {
			t.Fatalf("row %d twice", r.ID)
		}
		ids[r.ID] = true
	}
	if len(ids) != procs*commits*5 {
		t.Errorf("rows = %d, want %d", len(ids), procs*commits*5)
	}
}

func childWriter(t *testing.T, dir string) {
	ctx := context.Background()
	id, _ := strconv.Atoi(os.Getenv("LAKEHOUSE_CHILD_ID"))
	commits, _ := strconv.Atoi(os.Getenv("LAKEHOUSE_CHILD_COMMITS"))
	store, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lakehouse.Open(ctx, store, lakehouse.Options{CheckpointInterval: 4})
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < commits; c++ {
		res, err := lakehouse.Append(ctx, tbl, makeRows((id*commits+c)*5, 5), nil)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", res.Version)
	}
}

// TestConflicts: a replace-where planned on an old snapshot conflicts with
// a concurrent append into the same partition, not with one elsewhere;
// blind appends rebase; compaction does not conflict with appends.
func TestConflicts(t *testing.T) {
	ctx := context.Background()
	tbl, _ := localTable(t, lakehouse.Options{})
	must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(0, 12), nil))
	w := must[*lakehouse.Writer[row]](t)(lakehouse.NewWriter[row](ctx, tbl))
	read := int64(1)
	w10 := map[string]string{"week": "2022-W10", "app": "web"}
	var rows []row
	for _, r := range makeRows(100, 30) {
		if r.Week == w10["week"] && r.App == w10["app"] {
			rows = append(rows, r)
		}
	}
	adds := must[[]lakehouse.Add](t)(w.WriteDataFile(ctx, w10, rows))

	// Concurrent append in another partition: replace-where still commits.
	other := makeRows(1000, 1)
	other[0].Week, other[0].App = "2022-W11", "web"
	must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, other, nil))
	res, err := tbl.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeReplaceWhere, Adds: adds,
		Partitions: []map[string]string{w10}, ReadVersion: &read})
	if err != nil || res.Version != 3 || res.Attempts != 2 {
		t.Fatalf("replace-where after unrelated append: %+v, %v", res, err)
	}

	// Concurrent append into the replaced partition: conflict.
	read = 3
	same := makeRows(2000, 1)
	same[0].Week, same[0].App = w10["week"], w10["app"]
	must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, same, nil))
	adds = must[[]lakehouse.Add](t)(w.WriteDataFile(ctx, w10, rows))
	_, err = tbl.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeReplaceWhere, Adds: adds,
		Partitions: []map[string]string{w10}, ReadVersion: &read})
	if !errors.Is(err, lakehouse.ErrConflict) {
		t.Fatalf("replace-where over concurrent append = %v, want ErrConflict", err)
	}
	// Blind append planned at version 1 rebases over everything.
	read = 1
	adds = must[[]lakehouse.Add](t)(w.WriteDataFiles(ctx, makeRows(3000, 3)))
	res, err = tbl.Commit(ctx, lakehouse.Commit{Adds: adds, ReadVersion: &read})
	if err != nil || res.Version != 5 {
		t.Fatalf("blind append: %+v %v", res, err)
	}
	// Removing a file someone else already removed conflicts.
	snap := must[*lakehouse.Snapshot](t)(tbl.SnapshotAt(ctx, 1))
	victim := snap.Files()[0]
	must[lakehouse.CommitResult](t)(tbl.DeletePartitions(ctx, []map[string]string{victim.PartitionValues}, nil))
	_, err = tbl.Commit(ctx, lakehouse.Commit{Operation: "OPTIMIZE", Removes: []lakehouse.Remove{{Path: victim.Path}}, ReadVersion: &read})
	if !errors.Is(err, lakehouse.ErrConflict) {
		t.Fatalf("remove of a removed file = %v, want ErrConflict", err)
	}
}

// TestKilledWriter: data files written without a commit leave the table
// unchanged; vacuum later removes them (and only them).
func TestKilledWriter(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	tbl, store := localTable(t, lakehouse.Options{Now: clock})
	must[lakehouse.CommitResult](t)(lakehouse.Append(ctx, tbl, makeRows(0, 9), nil))
	before := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
	w := must[*lakehouse.Writer[row]](t)(lakehouse.NewWriter[row](ctx, tbl))
	orphans := must[[]lakehouse.Add](t)(w.WriteDataFiles(ctx, makeRows(100, 9)))
	// The "process" dies here: no Commit.
	after := must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx))
	if after.Version != before.Version || len(goRead(t, tbl, after)) != 9 {
		t.Fatalf("table changed by an uncommitted writer: v%d -> v%d", before.Version, after.Version)
	}
	if got := must[[]string](t)(tbl.Vacuum(ctx, time.Hour, false)); len(got) != 0 {
		t.Fatalf("vacuum within retention deleted %v", got)
	}
	later, _ := lakehouse.Open(ctx, store, lakehouse.Options{Now: func() time.Time { return now.Add(2 * time.Hour) }})
	deleted := must[[]string](t)(later.Vacuum(ctx, time.Hour, false))
	var want []string
	for _, a := range orphans {
		p, _ := lakehouse.FilePath(a.Path)
		want = append(want, p)
	}
	if d := cmp.Diff(len(want), len(deleted)); d != "" || len(want) == 0 {
		t.Fatalf("vacuum deleted %v, want the orphans %v", deleted, want)
	}
	if n := len(goRead(t, tbl, must[*lakehouse.Snapshot](t)(tbl.Snapshot(ctx)))); n != 9 {
		t.Errorf("rows after vacuum = %d, want 9", n)
	}
}
