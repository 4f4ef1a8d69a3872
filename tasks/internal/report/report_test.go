package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var (
	numArray = regexp.MustCompile(`\[\s*(?:(?:-?[0-9][0-9.e+-]*|null),\s*)*(?:-?[0-9][0-9.e+-]*|null)\s*\]`)
	spaces   = regexp.MustCompile(`\s+`)
)

var fixedNow = func() time.Time { return time.Date(2022, 2, 23, 6, 0, 0, 0, time.UTC) }

// goldenJSON is the page's data with the lake's temporary root replaced,
// indented for review.
func goldenJSON(t *testing.T, d *Data, lake string) []byte {
	t.Helper()
	b, err := d.DataJSON()
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(lake), []byte("LAKE"))
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", " "); err != nil {
		t.Fatal(err)
	}
	// Arrays of numbers on one line each.
	b = numArray.ReplaceAllFunc(out.Bytes(), func(m []byte) []byte {
		return spaces.ReplaceAll(m, nil)
	})
	return append(b, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, d)
	}
}

// TestGoldenData builds the report of the test lake (no MLflow) and
// compares the JSON the page embeds with the golden file.
func TestGoldenData(t *testing.T) {
	lake := t.TempDir()
	writeLake(t, lake, storage.Options{}, allTables)
	d, err := Build(t.Context(), Config{Lake: lake, Now: fixedNow, TopApps: 5})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "data.golden.json", goldenJSON(t, d, lake))

	// What the golden file must show, checked by name so that a wrong
	// golden file cannot pass.
	if d.Traffic.Absent != "" || d.Forecast.Absent != "" || d.Usage.Absent != "" || d.Drift.Absent != "" {
		t.Errorf("absent lake sections: %q %q %q %q", d.Traffic.Absent, d.Forecast.Absent, d.Usage.Absent, d.Drift.Absent)
	}
	if n := len(d.Traffic.Hours); n != lakeDays*24 {
		t.Errorf("%d traffic hours, want %d", n, lakeDays*24)
	}
	var sum, want int64
	for _, s := range d.Traffic.Categories {
		for _, v := range s.Values {
			sum += v
		}
	}
	for _, r := range generatedHourly(t) {
		want += r.Bytes + r.BytesRev
	}
	if sum != want {
		t.Errorf("categories sum to %d bytes, traffic_hourly has %d", sum, want)
	}
	if d.Forecast.RunDate != "2022-02-24" || len(d.Forecast.Series) < 2 || d.Forecast.Series[0].Name != "total" {
		t.Errorf("forecast run %s, series %d", d.Forecast.RunDate, len(d.Forecast.Series))
	}
	if a := d.Forecast.Alerts; len(a) != 1 || a[0].Series != "total" || a[0].Hours != 3 {
		t.Errorf("alerts %+v, want the total for 3 hours", a)
	}
	if d.Traffic.Weeks != [2]string{"2022-W07", "2022-W08"} {
		t.Errorf("week over week compares %v", d.Traffic.Weeks)
	}
	if len(d.Drift.Alerts) != 1 || d.Drift.Alerts[0].Scope != "app:google-www" {
		t.Errorf("drift alerts %+v", d.Drift.Alerts)
	}
	if d.Classifier.Absent == "" || d.Lineage.Absent == "" {
		t.Error("MLflow sections present without MLflow")
	}
	for _, tr := range d.Tables {
		if tr.Absent || tr.Version != 1 || tr.Rows == 0 { // 0 creates the table, 1 writes
			t.Errorf("table %+v", tr)
		}
	}
}

// TestAbsentTables: a lake with only traffic_hourly (main before the score
// and drift tasks land) and an empty lake: each missing table's section
// says so, naming the table.
func TestAbsentTables(t *testing.T) {
	for _, tc := range []struct {
		name   string
		which  lakeTables
		absent []string
	}{
		{"traffic only", lakeTables{hourly: true}, []string{"forecast", "classifier", "usage", "drift", "lineage"}},
		{"empty", lakeTables{}, []string{"traffic", "forecast", "classifier", "usage", "drift", "lineage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lake := t.TempDir()
			writeLake(t, lake, storage.Options{}, tc.which)
			d, err := Build(t.Context(), Config{Lake: lake, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			res := d.Result("x.html", 1)
			if d := cmp.Diff(tc.absent, res.Absent); d != "" {
				t.Errorf("absent sections (-want +got):\n%s", d)
			}
			for table, note := range map[string]string{UsageTable: d.Usage.Absent, DriftTable: d.Drift.Absent, ForecastsTable: d.Forecast.Absent} {
				if !strings.Contains(note, "Table "+table+" does not exist yet") {
					t.Errorf("%s section note %q", table, note)
				}
			}
			if _, err := Render(d); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPinnedVersions: --version reads the pinned snapshot; a pinned
// version or table that does not exist is an error.
func TestPinnedVersions(t *testing.T) {
	ctx := t.Context()
	lake := t.TempDir()
	writeLake(t, lake, storage.Options{}, lakeTables{hourly: true})
	extra := []tablerow.TrafficHourly{{Hour: lakeStart.AddDate(0, 0, lakeDays), App: "new-app", Category: "Other", Flows: 1, Bytes: 5, Week: "2022-W09"}}
	if v := writeTable(t, lake, storage.Options{}, HourlyTable, []string{"week"}, extra); v != 2 {
		t.Fatalf("second commit is version %d", v)
	}
	d, err := Build(ctx, Config{Lake: lake, Versions: map[string]int64{HourlyTable: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Tables[0].Version != 1 || len(d.Traffic.Hours) != lakeDays*24 || d.Traffic.Source[0] != "traffic_hourly@1" {
		t.Errorf("pinned to 1: table %+v, %d hours, source %v", d.Tables[0], len(d.Traffic.Hours), d.Traffic.Source)
	}
	d, err = Build(ctx, Config{Lake: lake})
	if err != nil {
		t.Fatal(err)
	}
	if d.Tables[0].Version != 2 || len(d.Traffic.Hours) != lakeDays*24+1 {
		t.Errorf("latest: table %+v, %d hours", d.Tables[0], len(d.Traffic.Hours))
	}
	for _, v := range []map[string]int64{{HourlyTable: 7}, {DriftTable: 0}, {"flows": 0}} {
		if _, err := Build(ctx, Config{Lake: lake, Versions: v}); err == nil {
			t.Errorf("versions %v: no error", v)
		}
	}
}

func TestEmerging(t *testing.T) {
	var rows []tablerow.TrafficHourly
	for w := range 4 {
		h := lakeStart.AddDate(0, 0, 7*w)
		rows = append(rows, tablerow.TrafficHourly{Hour: h, App: "old", Category: "A", Bytes: 100})
		if w >= 2 {
			rows = append(rows, tablerow.TrafficHourly{Hour: h, App: "new", Category: "B", Bytes: 50, BytesRev: 50})
		}
	}
	got := emerging(rows)
	want := []Emerging{{App: "new", Category: "B", FirstSeen: "2022-W09", LastWeek: 100, Share: 0.5}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("emerging (-want +got):\n%s", d)
	}
}

func TestParseConfusion(t *testing.T) {
	labels, m, err := parseConfusion([]byte("true\\predicted,a,b\na,3,1\nb,0,2\n"), "c.csv")
	if err != nil || len(labels) != 2 || m[0][1] != 1 || m[1][1] != 2 {
		t.Fatalf("%v %v %v", labels, m, err)
	}
	c := categoryConfusion(labels, m, map[string]string{"a": "X", "b": "X"})
	if d := cmp.Diff(Confusion{Labels: []string{"X"}, Matrix: [][]int64{{6}}}, c); d != "" {
		t.Errorf("category confusion (-want +got):\n%s", d)
	}
	for _, bad := range []string{"", "x\n", "true\\predicted,a,b\na,1,2\n", "true\\predicted,a\nb,1\n", "true\\predicted,a\na,-1\n", "true\\predicted,a\na,x\n"} {
		if _, _, err := parseConfusion([]byte(bad), "c.csv"); err == nil || !strings.Contains(err.Error(), "c.csv") {
			t.Errorf("%q: error %v, want one naming the file", bad, err)
		}
	}
}

func FuzzParseConfusion(f *testing.F) {
	f.Add([]byte("true\\predicted,a,b\na,3,1\nb,0,2\n"))
	f.Add([]byte("true\\predicted,a\na,x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		labels, m, err := parseConfusion(b, "f.csv")
		if err != nil {
			return
		}
		if len(m) != len(labels) {
			t.Fatalf("%d rows for %d labels", len(m), len(labels))
		}
		for _, row := range m {
			if len(row) != len(labels) {
				t.Fatalf("row of %d for %d labels", len(row), len(labels))
			}
		}
		_ = categoryConfusion(labels, m, nil)
	})
}

func TestLastDays(t *testing.T) {
	rows := generatedHourly(t)
	for _, days := range []int{0, 1, 3, lakeDays, lakeDays + 5} {
		hours := map[time.Time]bool{}
		for _, r := range lastDays(rows, days) {
			hours[r.Hour] = true
		}
		want := min(days, lakeDays) * 24
		if days == 0 {
			want = lakeDays * 24
		}
		if len(hours) != want {
			t.Errorf("last %d days: %d hours, want %d", days, len(hours), want)
		}
	}
}
