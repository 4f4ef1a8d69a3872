package cesnet

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func splitAll(in string) ([][]string, error) {
	r := newRowReader(strings.NewReader(in))
	var out [][]string
	for {
		rec, err := r.read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append([]string(nil), rec...))
	}
}

func TestRowReader(t *testing.T) {
	tests := []struct {
		in   string
		want [][]string
	}{
		{"a,b\n1,2\n", [][]string{{"a", "b"}, {"1", "2"}}},
		{"a,b\r\n1,2", [][]string{{"a", "b"}, {"1", "2"}}},
		{"a,\"x, y\",c\n", [][]string{{"a", "x, y", "c"}}},
		{"\"he said \"\"hi\"\"\",2\n", [][]string{{`he said "hi"`, "2"}}},
		{"\"two\nlines\",2\n3,4\n", [][]string{{"two\nlines", "2"}, {"3", "4"}}},
		{"a,\n\n\nb,c\n", [][]string{{"a", ""}, {"b", "c"}}},
		{",\n", [][]string{{"", ""}}},
		{"\"\",\"\"\n", [][]string{{"", ""}}},
	}
	for _, tc := range tests {
		got, err := splitAll(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q: (-want +got)\n%s", tc.in, diff)
		}
	}
	// A stray quote takes only its own line: the lines after it are
	// records again (reported with their own line numbers).
	for _, tc := range []struct {
		in       string
		good     [][]string
		badLines []int
	}{
		{"a,b\n\"x,1\n2,3\n4,5\n6,7\n8,9\n", [][]string{{"a", "b"}, {"2", "3"}, {"4", "5"}, {"6", "7"}, {"8", "9"}}, []int{2}},
		{"a,b\n\"x,1\n2,3\n", [][]string{{"a", "b"}, {"2", "3"}}, []int{2}},
		{"\"two\nlines\",2\n\"x\n3,4\n", [][]string{{"two\nlines", "2"}, {"3", "4"}}, []int{3}},
		// The quote "closes" on the next line, but the joined record is
		// malformed: each line is judged alone.
		{"a,b\n\"x,1\na\"b,c\n4,5\n", [][]string{{"a", "b"}, {"4", "5"}}, []int{2, 3}},
	} {
		r := newRowReader(strings.NewReader(tc.in))
		var good [][]string
		var bad []int
		for {
			rec, err := r.read()
			if err == io.EOF {
				break
			}
			if errors.As(err, new(*errCSV)) {
				bad = append(bad, r.start)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			good = append(good, append([]string(nil), rec...))
		}
		if diff := cmp.Diff(tc.good, good); diff != "" {
			t.Errorf("%q: records (-want +got)\n%s", tc.in, diff)
		}
		if diff := cmp.Diff(tc.badLines, bad); diff != "" {
			t.Errorf("%q: rejected lines (-want +got)\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{"a\"b,c\n", "\"ab\"c,d\n", "\"open,\n"} {
		if _, err := splitAll(bad); !errors.As(err, new(*errCSV)) {
			t.Errorf("%q: err = %v, want a CSV error", bad, err)
		}
	}
}

// FuzzRowReader checks the splitter against encoding/csv: whenever the
// standard reader accepts the whole input, ours returns the same records.
func FuzzRowReader(f *testing.F) {
	f.Add("a,b\n1,2\n")
	f.Add("\"x,\"\"y\"\"\",z\r\n\n\"m\nn\",\n")
	f.Add(`1,"[[0, 1], [1, -1], [517, 1460]]",True` + "\n")
	f.Fuzz(func(t *testing.T, in string) {
		cr := csv.NewReader(strings.NewReader(in))
		cr.FieldsPerRecord = -1
		want, err := cr.ReadAll()
		if err != nil || strings.ContainsRune(in, '\r') {
			// encoding/csv rewrites \r\n inside quoted fields; only
			// compare inputs it accepts as they are.
			splitAll(in) // must not panic
			return
		}
		for _, rec := range want {
			if 1+strings.Count(strings.Join(rec, ""), "\n") >= MaxRecordLines {
				splitAll(in) // a record longer than we accept: must not panic
				return
			}
		}
		got, err := splitAll(in)
		if err != nil {
			t.Fatalf("%q: encoding/csv accepts, we fail: %v", in, err)
		}
		if len(want) == 0 {
			want = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%q: (-encoding/csv +ours)\n%s", in, diff)
		}
	})
}
