package classify

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
)

// lakeConfig is not the default, so the lake source must find it in the log.
var lakeConfig = featuredef.FeatureConfig{SNIBuckets: 64, JA3Buckets: 16}

func day(s string) time.Time {
	d, err := time.Parse(cesnet.DayLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

// writeLakeFixture writes 17 consecutive days from Monday 2022-01-03 (weeks
// W01 and W02 whole, three days of W03) as a raw dataset and as the
// flow_features table of a lake, one commit per week, one data file per
// week or per day. It returns the raw
// root, the lake root and the table's last version.
func writeLakeFixture(t *testing.T, filePerDay bool) (raw, lake string, version int64) {
	t.Helper()
	ctx := context.Background()
	raw, lake = t.TempDir(), t.TempDir()
	var days []classifytest.Day
	for i := range 17 {
		days = append(days, classifytest.Day{Day: day("2022-01-03").AddDate(0, 0, i), Flows: 25})
	}
	if _, err := classifytest.WriteRaw(ctx, raw, 5, classifytest.Apps(6), days); err != nil {
		t.Fatal(err)
	}
	version, err := classifytest.WriteLake(ctx, lake, raw, classifytest.LakeOptions{Features: lakeConfig, FilePerDay: filePerDay})
	if err != nil {
		t.Fatal(err)
	}
	return raw, lake, version
}

func scanAll(t *testing.T, src Source, from, to time.Time) []tablerow.FlowFeatures {
	t.Helper()
	var out []tablerow.FlowFeatures
	err := src.Scan(context.Background(), from, to, func(r *tablerow.FlowFeatures) error {
		out = append(out, cloneRow(r, tablerow.FlowFeatures{}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func byDayID(rows []tablerow.FlowFeatures) []tablerow.FlowFeatures {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b tablerow.FlowFeatures) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), cmp.Compare(a.ID, b.ID))
	})
	return rows
}

func TestLakeSourceMatchesRawSource(t *testing.T) {
	for _, perDay := range []bool{false, true} {
		name := map[bool]string{false: "file per week", true: "file per day"}[perDay]
		t.Run(name, func(t *testing.T) { testLakeMatchesRaw(t, perDay) })
	}
}

func testLakeMatchesRaw(t *testing.T, filePerDay bool) {
	ctx := context.Background()
	root, lake, last := writeLakeFixture(t, filePerDay)
	if last != 3 {
		t.Fatalf("fixture: last version %d, want 3 (create + one commit per week)", last)
	}
	raw, err := NewRawSource(root, lakeConfig)
	if err != nil {
		t.Fatal(err)
	}
	src, err := SourceFlags{Lake: lake, Version: -1}.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ls := src.(*LakeSource)
	multiDay := 0
	for _, a := range ls.snap.Files() {
		if _, ok := oneDay(a); !ok {
			multiDay++
		}
	}
	if want := map[bool]int{false: 3, true: 0}[filePerDay]; multiDay != want {
		t.Errorf("%d of %d files span several days by their stats, want %d", multiDay, ls.snap.NumFiles(), want)
	}

	rawDays, err := raw.Days(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lakeDays, err := ls.Days(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(rawDays, lakeDays); d != "" {
		t.Fatalf("days (-raw +lake):\n%s", d)
	}
	if d := gocmp.Diff(Weeks(rawDays), Weeks(lakeDays)); d != "" {
		t.Errorf("weeks (-raw +lake):\n%s", d)
	}

	for _, tc := range []struct {
		name     string
		from, to string
		rows     int
		files    [2]int // read per layout: file per week, file per day
	}{
		{"all", "2022-01-03", "2022-01-19", 17 * 25, [2]int{3, 17}},
		{"one week", "2022-01-10", "2022-01-16", 7 * 25, [2]int{1, 7}},
		{"across weeks, inside files", "2022-01-08", "2022-01-11", 4 * 25, [2]int{2, 4}},
		{"one day", "2022-01-19", "2022-01-19", 25, [2]int{1, 1}},
		{"range wider than the data", "2021-12-01", "2022-03-01", 17 * 25, [2]int{3, 17}},
		{"before the data", "2021-12-01", "2021-12-31", 0, [2]int{0, 0}},
		{"after the data", "2022-01-20", "2022-02-20", 0, [2]int{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := day(tc.from), day(tc.to)
			filters, ok, err := ls.filters(ctx, from, to)
			if err != nil {
				t.Fatal(err)
			}
			files := 0
			if ok {
				files = len(ls.snap.Files(filters...))
			}
			if want := tc.files[map[bool]int{false: 0, true: 1}[filePerDay]]; files != want {
				t.Errorf("the filters keep %d files, want %d", files, want)
			}
			want := byDayID(scanAll(t, raw, from, to))
			got := scanAll(t, ls, from, to)
			if len(want) != tc.rows || len(got) != tc.rows {
				t.Fatalf("raw %d rows, lake %d rows, want %d", len(want), len(got), tc.rows)
			}
			if d := gocmp.Diff(want, byDayID(got), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("rows (-raw +lake):\n%s", d)
			}
			if d := gocmp.Diff(got, scanAll(t, ls, from, to), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("a second scan yields another order:\n%s", d)
			}
		})
	}

	// Sampling sees the same labels from both sources.
	split, err := SplitWeeks(Weeks(lakeDays), SplitConfig{TrainWeeks: 1, ValWeeks: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, rawSeen, err := sampleWindow(ctx, raw, split.Train, 50, 5, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, lakeSeen, err := sampleWindow(ctx, ls, split.Train, 50, 5, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(rawSeen, lakeSeen); d != "" {
		t.Errorf("rows per app in the training window (-raw +lake):\n%s", d)
	}

	v := ls.Version()
	three := int64(3)
	want := DataVersion{Kind: "delta", URI: filepath.Join(lake, FeaturesTable), Table: FeaturesTable, Version: &three, Features: lakeConfig}
	if d := gocmp.Diff(want, v); d != "" {
		t.Errorf("version (-want +got):\n%s", d)
	}
}

func TestLakeSourcePinnedVersion(t *testing.T) {
	ctx := context.Background()
	_, lake, _ := writeLakeFixture(t, false)
	// The table URI itself works as well as the lake root.
	src, err := OpenLakeSource(ctx, filepath.Join(lake, FeaturesTable)+"/", 1, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	days, err := src.Days(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 7 || !days[0].Equal(day("2022-01-03")) || !days[6].Equal(day("2022-01-09")) {
		t.Errorf("version 1 days %v, want the 7 days of 2022-W01", days)
	}
	if rows := scanAll(t, src, day("2022-01-01"), day("2022-01-31")); len(rows) != 7*25 {
		t.Errorf("version 1: %d rows, want %d", len(rows), 7*25)
	}
	if v := src.Version().Version; v == nil || *v != 1 {
		t.Errorf("Version().Version = %v, want 1", v)
	}
}

func TestLakeSourceErrors(t *testing.T) {
	ctx := context.Background()
	_, lake, _ := writeLakeFixture(t, false)

	// A table of another row type.
	other := t.TempDir()
	st, err := storage.Open(ctx, filepath.Join(other, FeaturesTable), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lakehouse.Create[tablerow.TrafficHourly](ctx, st, lakehouse.CreateOptions{Name: FeaturesTable}, lakehouse.Options{}); err != nil {
		t.Fatal(err)
	}

	// A last commit recording fewer buckets than the rows use.
	mixed := t.TempDir()
	root, _, _ := writeLakeFixture(t, true)
	if _, err := classifytest.WriteLake(ctx, mixed, root, classifytest.LakeOptions{Features: lakeConfig}); err != nil {
		t.Fatal(err)
	}
	st, err = storage.Open(ctx, filepath.Join(mixed, FeaturesTable), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tab, err := lakehouse.Open(ctx, st, lakehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeAppend,
		OperationParameters: map[string]any{featuresParam: "sni_buckets=2 ja3_buckets=2"}}); err != nil {
		t.Fatal(err)
	}

	missing := t.TempDir()
	for _, tc := range []struct {
		name    string
		lake    string
		version int64
		is      error
		want    []string // in the message
	}{
		{"no table", missing, -1, lakehouse.ErrNotTable, []string{filepath.Join(missing, FeaturesTable), "latest version"}},
		{"no table at a version", missing, 4, lakehouse.ErrNotTable, []string{filepath.Join(missing, FeaturesTable), "version 4"}},
		{"version beyond the latest", lake, 9, lakehouse.ErrVersionNotFound, []string{filepath.Join(lake, FeaturesTable), "version 9", "latest is 3"}},
		{"not flow_features", other, -1, nil, []string{filepath.Join(other, FeaturesTable) + "@0", "no columns id, day, stats"}},
		{"other bucket counts", mixed, -1, nil, []string{filepath.Join(mixed, FeaturesTable) + "@4", "sni_buckets=2 ja3_buckets=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SourceFlags{Lake: tc.lake, Version: tc.version}.Open(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %q", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(missing, FeaturesTable)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a missing table created its folder (stat: %v)", err)
	}
}

func TestSourceFlagsOpen(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		flags SourceFlags
		want  string
	}{
		{SourceFlags{Version: -1}, "no data"},
		{SourceFlags{Raw: "r", Lake: "l", Version: -1}, "not both"},
	} {
		if _, err := tc.flags.Open(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one saying %q", tc.flags, err, tc.want)
		}
	}
}
