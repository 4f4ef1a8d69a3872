package cesnet

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const fixtureRoot = "../../testdata/cesnet"

func readAll(t *testing.T, r io.Reader, name string) ([]Flow, []*Reject) {
	t.Helper()
	d := NewDecoder(r, name)
	var flows []Flow
	var rejects []*Reject
	for {
		var f Flow
		err := d.Read(&f)
		if err == io.EOF {
			break
		}
		var rej *Reject
		if errors.As(err, &rej) {
			rejects = append(rejects, rej)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	if got := d.Rows(); got != int64(len(flows)+len(rejects)) {
		t.Errorf("Rows() = %d, want %d", got, len(flows)+len(rejects))
	}
	return flows, rejects
}

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05.999999", s)
	if err != nil {
		panic(err)
	}
	return t
}

func shortFlow() Flow {
	return Flow{
		ID: 2, SrcIP: "192.0.2.11", DstIP: "198.51.100.8", DstASN: 15169, DstPort: 443, Protocol: 6,
		TLSSNI: "www.google.com", TLSJA3: "d41d8cd98f00b204e9800998ecf8427e",
		TimeFirst: ts("2021-12-31T22:00:00"), TimeLast: ts("2021-12-31T22:00:00.158620"),
		Duration: 0.15862, Bytes: 761, BytesRev: 4092, Packets: 9, PacketsRev: 7,
		PPILen: 6, PPIDuration: 0.085, PPIRoundtrips: 2, App: "google-www", Category: "Search",
		FlagACK: true, FlagACKRev: true, FlagPSH: true, FlagPSHRev: true, FlagSYN: true, FlagSYNRev: true,
		EndReasonIdle: true,
		PPIIPT:        []int32{0, 12, 1, 40, 30, 2},
		PPIDir:        []int32{1, -1, -1, 1, -1, 1},
		PPISize:       []int32{192, 1460, 829, 158, 51, 31},
		PPIPush:       []int32{1, 0, 1, 1, 1, 1},
		PHistSrcSizes: []int32{2, 1, 0, 1, 1, 0, 0, 0},
		PHistDstSizes: []int32{1, 1, 0, 1, 0, 0, 1, 1},
		PHistSrcIPT:   []int32{4, 2, 1, 0, 1, 0, 0, 0},
		PHistDstIPT:   []int32{3, 1, 1, 0, 0, 0, 0, 0},
		Day:           "2022-10-04", Week: "2022-W40",
	}
}

func TestDecodeFixtures(t *testing.T) {
	name := filepath.Join(fixtureRoot, "WEEK-2022-40/2022-10-04/flows-20221004.csv")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flows, rejects := readAll(t, f, name)
	if len(rejects) != 0 {
		t.Fatalf("rejects: %v", rejects)
	}
	if len(flows) != 2 {
		t.Fatalf("got %d flows, want 2", len(flows))
	}
	long := flows[0]
	// The documented values of tasks/internal/synth/DATASET.md §2.4.
	checks := []struct {
		name      string
		got, want any
	}{
		{"DURATION", long.Duration, 2.115314},
		{"BYTES", long.Bytes, int64(129351)},
		{"BYTES_REV", long.BytesRev, int64(537657)},
		{"PACKETS", long.Packets, int64(241)},
		{"PACKETS_REV", long.PacketsRev, int64(393)},
		{"PPI_LEN", long.PPILen, int32(30)},
		{"PPI_DURATION", long.PPIDuration, 0.058},
		{"PPI_ROUNDTRIPS", long.PPIRoundtrips, int32(5)},
		{"END", long.EndReasonEnd, true},
		{"IDLE", long.EndReasonIdle, false},
		{"APP", long.App, "the-weather-channel"},
		{"CATEGORY", long.Category, "Weather"},
		{"ipt prefix", long.PPIIPT[:6], []int32{0, 1, 18, 7, 0, 15}},
		{"dir prefix", long.PPIDir[:6], []int32{1, -1, 1, 1, -1, 1}},
		{"size prefix", long.PPISize[:5], []int32{517, 146, 51, 139, 77}},
		{"PHIST_SRC_SIZES", long.PHistSrcSizes, []int32{0, 1, 2, 0, 4, 1, 1, 0}},
		{"TIME_FIRST", long.TimeFirst, ts("2022-10-04T08:15:02.101101")},
		{"Week", long.Week, "2022-W40"},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", c.name, diff)
		}
	}
	if diff := cmp.Diff(shortFlow(), flows[1]); diff != "" {
		t.Errorf("short flow (-want +got)\n%s", diff)
	}
}

// The variant file: extra SRC_PORT, no TLS_JA3, three PPI lists, 1/0 end reasons.
func TestDecodeTolerantHeader(t *testing.T) {
	name := filepath.Join(fixtureRoot, "WEEK-2022-00/2022-01-01/flows-20220101.csv")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := NewDecoder(f, name)
	var got Flow
	if err := d.Read(&got); err != nil {
		t.Fatal(err)
	}
	want := shortFlow()
	want.TLSJA3 = ""
	want.PPIPush = []int32{}
	want.Day, want.Week = "2022-01-01", "2022-W00"
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []int32) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal([]int32(a), []int32(b)) })); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"TLS_JA3"}, d.Missing()); diff != "" {
		t.Errorf("Missing: %s", diff)
	}
	if diff := cmp.Diff([]string{"SRC_PORT"}, d.Extra()); diff != "" {
		t.Errorf("Extra: %s", diff)
	}
}

func TestEmptyDay(t *testing.T) {
	name := filepath.Join(fixtureRoot, "WEEK-2022-52/2022-12-31/flows-20221231.csv")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := NewDecoder(f, name)
	if err := d.Read(&Flow{}); err != io.EOF {
		t.Fatalf("Read = %v, want io.EOF", err)
	}
	if !d.Empty() {
		t.Error("Empty() = false for a zero-byte file")
	}
	sf, err := os.Open(filepath.Join(fixtureRoot, "WEEK-2022-52/2022-12-31/stats-20221231.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	s, err := ReadStats(sf, "stats-20221231.json")
	if err != nil || s.Global.TotalSaved != 0 || len(s.Apps) != 0 {
		t.Fatalf("ReadStats = %+v, %v", s, err)
	}
}

// encodeRows writes the short flow n times, with mutate applied to row i.
func fixtureFile(t *testing.T, rows int, mutate func(i int, f *Flow)) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	for i := range rows {
		f := shortFlow()
		f.ID = int64(i + 1)
		if mutate != nil {
			mutate(i, &f)
		}
		if err := e.Write(&f); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRejects(t *testing.T) {
	good := string(fixtureFile(t, 1, nil))
	lines := strings.SplitN(good, "\n", 2)
	header, row := lines[0], strings.TrimSuffix(lines[1], "\n")
	tests := []struct {
		name       string
		row        string
		wantColumn string
		wantReason string
	}{
		{"bad int", strings.Replace(row, ",761,", ",7x1,", 1), "BYTES", "invalid syntax"},
		{"negative bytes", strings.Replace(row, ",761,", ",-761,", 1), "BYTES", "negative"},
		{"unknown app", strings.Replace(row, "google-www", "no-such-app", 1), "APP", "unknown service"},
		{"unknown category", strings.Replace(row, ",Search,", ",Nope,", 1), "CATEGORY", "unknown category"},
		{"ppi lengths", strings.Replace(row, "[0, 12, 1, 40, 30, 2]", "[0, 12, 1, 40, 30]", 1), "PPI", "PPI_LEN"},
		{"ppi direction", strings.Replace(row, "[1, -1, -1, 1, -1, 1]", "[1, -1, 0, 1, -1, 1]", 1), "PPI", "direction 0"},
		{"ppi syntax", strings.Replace(row, "[0, 12, 1,", "[0, 12 1,", 1), "PPI", "want ',' or ']'"},
		{"ppi len > 30", strings.Replace(row, ",6,0.085,", ",31,0.085,", 1), "PPI_LEN", "31 > 30"},
		{"packets < ppi len", strings.Replace(row, ",9,7,6,", ",2,3,6,", 1), "PACKETS", "< PPI_LEN"},
		{"bool", strings.Replace(row, ",True,", ",yes,", 1), "FLOW_ENDREASON_IDLE", "want True"},
		{"time", strings.Replace(row, "2021-12-31T22:00:00,", "2021-13-31T22:00:00,", 1), "TIME_FIRST", "out of range"},
		{"hist bins", strings.Replace(row, "[2, 1, 0, 1, 1, 0, 0, 0]", "[2, 1, 0, 1, 1, 0, 0]", 1), "PHIST_SRC_SIZES", "want 8 bins"},
		{"field count", row + ",extra", "(row)", "46 fields"},
		{"bare quote", strings.Replace(row, "www.google.com", `www"google`, 1), "(row)", "csv:"},
		{"sni not utf-8", strings.Replace(row, "www.google.com", "www.goo\xffgle.com", 1), "TLS_SNI", "invalid UTF-8 at byte 7"},
		{"sni too long", strings.Replace(row, "www.google.com", strings.Repeat("a", 256), 1), "TLS_SNI", "256 bytes, at most 255"},
		{"ja3 not utf-8", strings.Replace(row, "d41d8cd98f00b204e9800998ecf8427e", "d41d\xc3", 1), "TLS_JA3", "invalid UTF-8 at byte 4"},
		{"ip not utf-8", strings.Replace(row, "192.0.2.11", "192.0.\xe2\x82", 1), "SRC_IP", "invalid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.row == row {
				t.Fatal("mutation did not apply")
			}
			// A good row, the bad row, a good row: the bad one is rejected
			// with its line and reading goes on.
			in := header + "\n" + row + "\n" + tc.row + "\n" + row + "\n"
			flows, rejects := readAll(t, strings.NewReader(in), "WEEK-2022-40/2022-10-04/flows-20221004.csv")
			if len(flows) != 2 || len(rejects) != 1 {
				t.Fatalf("got %d flows, %d rejects (%v), want 2 and 1", len(flows), len(rejects), rejects)
			}
			r := rejects[0]
			if r.Line != 3 || r.Column != tc.wantColumn || !strings.Contains(r.Reason, tc.wantReason) {
				t.Errorf("reject = line %d column %q reason %q; want line 3 column %q reason containing %q",
					r.Line, r.Column, r.Reason, tc.wantColumn, tc.wantReason)
			}
			if r.File == "" || r.Week != "2022-W40" {
				t.Errorf("reject file/week = %q/%q", r.File, r.Week)
			}
			if want := Clip(tc.row, MaxRejectRaw); tc.wantColumn != "(row)" && r.Raw != want {
				t.Errorf("raw = %q, want %q", r.Raw, want)
			}
			if !utf8.ValidString(r.Raw) || !utf8.ValidString(r.Reason) {
				t.Errorf("reject holds invalid UTF-8: raw %q reason %q", r.Raw, r.Reason)
			}
		})
	}
}

// TestHugeLine: a 5 MB junk line becomes one reject whose raw text and
// reason are clipped, with the original length in the reason.
func TestHugeLine(t *testing.T) {
	good := string(fixtureFile(t, 1, nil))
	header, row, _ := strings.Cut(good, "\n")
	junk := strings.Repeat("\xfe junk,", 5<<20/7)
	huge := strings.Replace(row, "google-www", strings.Repeat("x", 5<<20), 1)
	in := header + "\n" + junk + "\n" + huge + row + "\n"
	flows, rejects := readAll(t, strings.NewReader(in), "WEEK-2022-40/2022-10-04/flows-20221004.csv")
	if len(flows) != 1 || len(rejects) != 2 {
		t.Fatalf("got %d flows %d rejects, want 1 and 2", len(flows), len(rejects))
	}
	for _, r := range rejects {
		if len(r.Raw) > MaxRejectRaw || len(r.Reason) > MaxRejectReason+64 || !utf8.ValidString(r.Raw) || !utf8.ValidString(r.Reason) {
			t.Errorf("line %d: raw %d bytes, reason %d bytes (valid UTF-8 %v %v)", r.Line, len(r.Raw), len(r.Reason), utf8.ValidString(r.Raw), utf8.ValidString(r.Reason))
		}
		if !strings.Contains(r.Reason, "bytes, first 4096 kept]") {
			t.Errorf("line %d: reason %q does not record the raw length", r.Line, r.Reason)
		}
	}
}

// TestLineOverBound: a line longer than MaxLineBytes is one reject whose
// bytes past the bound are skipped; the next row is read.
func TestLineOverBound(t *testing.T) {
	good := string(fixtureFile(t, 1, nil))
	header, row, _ := strings.Cut(good, "\n")
	in := io.MultiReader(strings.NewReader(header+"\n"), strings.NewReader(strings.Repeat("z", MaxLineBytes+10)),
		strings.NewReader("\n"+row))
	flows, rejects := readAll(t, in, "WEEK-2022-40/2022-10-04/flows-20221004.csv")
	if len(flows) != 1 || len(rejects) != 1 {
		t.Fatalf("got %d flows %d rejects, want 1 and 1", len(flows), len(rejects))
	}
	if r := rejects[0]; r.Line != 2 || !strings.Contains(r.Reason, fmt.Sprintf("line of %d bytes, longer than %d", MaxLineBytes+11, MaxLineBytes)) || len(r.Raw) > MaxRejectRaw {
		t.Errorf("reject line %d reason %q raw %d bytes", r.Line, r.Reason, len(r.Raw))
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 10, "abc"},
		{"abcdef", 3, "abc"},
		{"a\xffb", 10, "a\uFFFDb"},
		{"aé", 2, "a"}, // é cut in half is dropped
		{"aé", 3, "aé"},
		{"a€b", 3, "a"},
	} {
		if got := Clip(tc.in, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, hdr := range []string{"ID,APP,CATEGORY", "ID,ID,TIME_FIRST,BYTES,BYTES_REV,PACKETS,PACKETS_REV,PPI_LEN,PPI,APP,CATEGORY"} {
		d := NewDecoder(strings.NewReader(hdr+"\n"), "x.csv")
		if err := d.Read(&Flow{}); !errors.Is(err, ErrHeader) {
			t.Errorf("header %q: err = %v, want ErrHeader", hdr, err)
		}
	}
}

func TestRoundTripCompressed(t *testing.T) {
	plain := fixtureFile(t, 500, func(i int, f *Flow) { f.Bytes += int64(i) })
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	files := map[string][]byte{"flows-20221004.csv": plain, "flows-20221004.csv.gz": gz.Bytes()}
	if xzPath, err := exec.LookPath("xz"); err == nil {
		cmd := exec.Command(xzPath, "-c")
		cmd.Stdin = bytes.NewReader(plain)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		files["flows-20221004.csv.xz"] = out
	} else {
		t.Fatal("xz program not found: install xz-utils (.ci/setup does)")
	}
	for name, data := range files {
		for _, mode := range []XZMode{XZGo, XZExec} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			rc, err := OpenFile(context.Background(), p, mode)
			if err != nil {
				t.Fatal(err)
			}
			flows, rejects := readAll(t, rc, p)
			rc.Close()
			if len(flows) != 500 || len(rejects) != 0 {
				t.Fatalf("%s mode %d: %d flows %d rejects", name, mode, len(flows), len(rejects))
			}
			want := shortFlow()
			want.ID, want.Bytes = 500, want.Bytes+499
			if diff := cmp.Diff(want, flows[499]); diff != "" {
				t.Errorf("%s: last row (-want +got)\n%s", name, diff)
			}
		}
	}
	// Zero-byte compressed files are empty days, not errors.
	for _, name := range []string{"flows-20221231.csv.gz", "flows-20221231.csv.xz"} {
		for _, mode := range []XZMode{XZGo, XZExec} {
			p := filepath.Join(dir, name)
			os.WriteFile(p, nil, 0o644)
			rc, err := OpenFile(context.Background(), p, mode)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			flows, rejects := readAll(t, rc, p)
			rc.Close()
			if len(flows)+len(rejects) != 0 {
				t.Errorf("%s: rows from an empty file", name)
			}
		}
	}
}

func TestCorruptXZ(t *testing.T) {
	p := filepath.Join(t.TempDir(), "flows-20221004.csv.xz")
	os.WriteFile(p, []byte("\xfd7zXZ\x00garbage"), 0o644)
	for _, mode := range []XZMode{XZGo, XZExec} {
		rc, err := OpenFile(context.Background(), p, mode)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "flows-20221004.csv.xz") {
			t.Errorf("mode %d: err = %v, want an error naming the file", mode, err)
		}
	}
}

// TestTruncated: a compressed day file cut in half (a partial upload or
// copy) fails with an error naming the file, in every decoder; it never
// reads as a shorter, clean file.
func TestTruncated(t *testing.T) {
	plain := fixtureFile(t, 4000, func(i int, f *Flow) { f.Bytes += int64(i) })
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	cmd := exec.Command("xz", "-c")
	cmd.Stdin = bytes.NewReader(plain)
	xzData, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz: %v (install xz-utils; .ci/setup does)", err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"flows-20221004.csv.gz": gz.Bytes(), "flows-20221004.csv.xz": xzData} {
		for _, cut := range []int{len(data) / 2, len(data) - 4, 30} {
			for _, mode := range []XZMode{XZGo, XZExec} {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, data[:cut], 0o644); err != nil {
					t.Fatal(err)
				}
				rc, err := OpenFile(context.Background(), p, mode)
				if err == nil {
					_, err = io.ReadAll(rc)
					rc.Close()
				}
				if err == nil || !strings.Contains(err.Error(), name) {
					t.Errorf("%s cut at %d of %d, mode %d: err = %v, want an error naming the file", name, cut, len(data), mode, err)
				}
			}
		}
	}
}

func TestWeeks(t *testing.T) {
	tests := []struct{ day, folder, label string }{
		{"2022-01-01", "WEEK-2022-00", "2022-W00"},
		{"2022-01-02", "WEEK-2022-00", "2022-W00"},
		{"2022-01-03", "WEEK-2022-01", "2022-W01"},
		{"2022-03-07", "WEEK-2022-10", "2022-W10"},
		{"2022-12-31", "WEEK-2022-52", "2022-W52"},
		{"2024-12-30", "WEEK-2024-53", "2024-W53"},
	}
	for _, tc := range tests {
		d, _ := time.Parse(DayLayout, tc.day)
		if got := WeekFolder(d); got != tc.folder {
			t.Errorf("WeekFolder(%s) = %s, want %s", tc.day, got, tc.folder)
		}
		if got := WeekLabel(d); got != tc.label {
			t.Errorf("WeekLabel(%s) = %s, want %s", tc.day, got, tc.label)
		}
	}
	d, _ := time.Parse(DayLayout, "2022-01-01")
	if got := DayFile(d, "csv.xz"); got != "WEEK-2022-00/2022-01-01/flows-20220101.csv.xz" {
		t.Errorf("DayFile = %s", got)
	}
}

func TestParseTime(t *testing.T) {
	good := map[string]string{
		"2021-12-31T22:00:00":        "2021-12-31T22:00:00Z",
		"2021-12-31T22:00:00.5":      "2021-12-31T22:00:00.5Z",
		"2021-12-31T22:00:00.158620": "2021-12-31T22:00:00.15862Z",
		"2021-12-31T22-00-00.000001": "2021-12-31T22:00:00.000001Z",
		"2021-12-31 22:00:00":        "2021-12-31T22:00:00Z",
	}
	for in, want := range good {
		got, err := ParseTime(in)
		if err != nil || got.Format(time.RFC3339Nano) != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2021-12-31", "2021-02-30T00:00:00", "2021-12-31T22:00:00.", "2021-12-31T22:00-00", "2021-12-31T25:00:00"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) succeeded", in)
		}
	}
}

func FuzzParsePPI(f *testing.F) {
	f.Add("[[0, 1, 18], [1, -1, 1], [517, 146, 51], [1, 1, 1]]")
	f.Add("[[0], [1], [517]]")
	f.Add("[]")
	f.Add("[[0, 12 1], [1]]")
	f.Fuzz(func(t *testing.T, s string) {
		ipt, dir, size, push, lists, err := ParsePPI(s, nil, nil, nil, nil)
		if err != nil {
			return
		}
		if lists > 4 {
			t.Fatalf("%d lists", lists)
		}
		// Re-encoding the parsed lists must parse to the same values.
		var b []byte
		b = append(b, '[')
		all := [][]int32{ipt, dir, size, push}[:lists]
		for i, l := range all {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendList(b, l)
		}
		b = append(b, ']')
		ipt2, dir2, size2, push2, lists2, err := ParsePPI(string(b), nil, nil, nil, nil)
		if err != nil || lists2 != lists || !cmp.Equal(ipt, ipt2) || !cmp.Equal(dir, dir2) || !cmp.Equal(size, size2) || !cmp.Equal(push, push2) {
			t.Fatalf("round trip of %q via %q: %v", s, b, err)
		}
	})
}

func FuzzDecodeRow(f *testing.F) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	sf := shortFlow()
	e.Write(&sf)
	e.Flush()
	lines := strings.SplitN(buf.String(), "\n", 2)
	header := lines[0]
	f.Add(lines[1])
	f.Add(strings.Replace(lines[1], "google-www", "x", 1))
	f.Add(`1,2,3,"[[`)
	f.Fuzz(func(t *testing.T, row string) {
		d := NewDecoder(strings.NewReader(header+"\n"+row), "flows-20221004.csv")
		for i := 0; i < 1000; i++ {
			var fl Flow
			err := d.Read(&fl)
			if err == io.EOF {
				return
			}
			var rej *Reject
			if errors.As(err, &rej) {
				if rej.Line < 2 || rej.Column == "" || rej.Reason == "" {
					t.Fatalf("reject without position: %+v", rej)
				}
				continue
			}
			if err != nil {
				t.Fatalf("non-reject error: %v", err)
			}
			// A good row satisfies every invariant.
			n := int(fl.PPILen)
			if n > PPIMaxLen || len(fl.PPIIPT) != n || len(fl.PPIDir) != n || len(fl.PPISize) != n {
				t.Fatalf("invariant broken: %+v", fl)
			}
			if fl.Packets+fl.PacketsRev < int64(n) || fl.Bytes < 0 {
				t.Fatalf("counter invariant broken: %+v", fl)
			}
			// And encodes back to a row that decodes to the same flow.
			var out bytes.Buffer
			e := NewEncoder(&out)
			e.Write(&fl)
			e.Flush()
			d2 := NewDecoder(&out, "flows-20221004.csv")
			var fl2 Flow
			if err := d2.Read(&fl2); err != nil {
				t.Fatalf("re-decode: %v\nrow %q", err, out.String())
			}
			eq := cmp.Comparer(func(a, b []int32) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal([]int32(a), []int32(b)) })
			if diff := cmp.Diff(fl, fl2, eq); diff != "" {
				t.Fatalf("round trip (-first +second)\n%s", diff)
			}
		}
	})
}
