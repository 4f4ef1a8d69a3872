package cesnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decoded is what decoding yields, in order: good rows (by ID, owned
// copies of their text) and rejects (line, column, reason, raw).
type decoded struct {
	Rows    []string
	Rejects []Reject
	Count   int64
}

func (o *decoded) take(d *Decoder, t *testing.T) {
	t.Helper()
	for {
		var f Flow
		err := d.Read(&f)
		if err == io.EOF {
			break
		}
		var rej *Reject
		if errors.As(err, &rej) {
			o.Rejects = append(o.Rejects, *rej)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		o.Rows = append(o.Rows, strings.Clone(fmt.Sprintf("%d %s %s %s %v", f.ID, f.SrcIP, f.TLSSNI, f.App, f.PPISize)))
	}
	o.Count += d.Rows()
}

func sequential(t *testing.T, in string) decoded {
	var out decoded
	d := NewDecoder(strings.NewReader(in), "flows-20221004.csv")
	out.take(d, t)
	return out
}

// chunked decodes in through a Splitter cutting every size bytes; the
// buffers of spent chunks are overwritten with junk before reuse, so a
// row that kept a pointer into one shows.
func chunked(t *testing.T, in string, size int) (decoded, int) {
	var out decoded
	d := NewDecoder(strings.NewReader(in), "flows-20221004.csv")
	if err := d.ReadHeader(); err != nil {
		if err == io.EOF {
			return out, 0
		}
		t.Fatal(err)
	}
	sp := d.Split()
	sp.size = size
	w := d.Worker()
	var buf []byte
	n := 0
	for {
		c, err := sp.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		w.Reset(c)
		out.take(w, t)
		out.Count -= w.Rows() // take adds the worker's running total
		buf = c.Data
		for i := range buf {
			buf[i] = 'J'
		}
	}
	out.Count += d.Rows() + w.Rows()
	return out, n
}

func chunkInput() string {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	for i := range 50 {
		f := shortFlow()
		f.ID = int64(i)
		f.SrcIP = fmt.Sprintf("192.0.2.%d", i)
		e.Write(&f)
	}
	e.Flush()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// Junk among good rows: a stray quote, a row closing a quote on a
	// later line, blank lines, CRLF, a bad field.
	lines[5] = `"x,1`
	lines[9] = `1,"two`
	lines[10] = `lines",3`
	lines[14] = ""
	lines[20] += "\r"
	lines[25] = strings.Replace(lines[25], "google-www", "nope", 1)
	lines[30] = `a,"b`
	lines[31] = `c`
	lines[32] = `d`
	lines[33] = `e",f`
	return strings.Join(lines, "\n") + "\n"
}

// TestChunkedMatchesSequential: whatever the chunk size, chunked decoding
// yields the rows, rejects and line numbers of sequential decoding.
func TestChunkedMatchesSequential(t *testing.T) {
	in := chunkInput()
	want := sequential(t, in)
	if len(want.Rejects) == 0 || len(want.Rows) == 0 {
		t.Fatalf("input has %d rows, %d rejects", len(want.Rows), len(want.Rejects))
	}
	for _, size := range []int{1, 7, 100, 700, 1500, 4000, len(in), 1 << 20} {
		got, n := chunked(t, in, size)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("size %d (%d chunks): (-sequential +chunked)\n%s", size, n, diff)
		}
		if size < 1500 && n < 10 {
			t.Errorf("size %d: only %d chunks", size, n)
		}
	}
}

// TestChunkTail: without a cut within maxChunkSearch (quotes open on every
// line), the rest of the file is one chunk read sequentially.
func TestChunkTail(t *testing.T) {
	var b strings.Builder
	b.WriteString(strings.Join(Columns, ",") + "\n")
	for b.Len() < maxChunkSearch+(1<<20) {
		b.WriteString("\"" + strings.Repeat("x", 1000) + "\n")
	}
	in := b.String()
	want := sequential(t, in)
	got, n := chunked(t, in, ChunkBytes)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-sequential +chunked)\n%s", diff)
	}
	if n != 1 {
		t.Errorf("%d chunks, want 1 (with a tail)", n)
	}
}

func FuzzChunked(f *testing.F) {
	f.Add(chunkInput(), 100)
	f.Add("ID,APP\n\"1\n2\",x\n3,\"y\n", 3)
	f.Fuzz(func(t *testing.T, in string, size int) {
		if size < 1 || size > 1<<16 {
			return
		}
		if !strings.HasPrefix(in, "ID") { // a usable header, so rows are read
			in = strings.Join(Columns, ",") + "\n" + in
		}
		if err := NewDecoder(strings.NewReader(in), "f").ReadHeader(); err != nil && err != io.EOF {
			return
		}
		want := sequential(t, in)
		got, _ := chunked(t, in, size)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("size %d: (-sequential +chunked)\n%s", size, diff)
		}
	})
}
