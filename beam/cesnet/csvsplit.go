package cesnet

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// rowReader splits RFC 4180 CSV into records. It is the decoder's first
// stage: one string allocation per record, fields are substrings of it
// (quoted fields with doubled quotes are unescaped into a new string), and
// the raw text of the record is kept for rejects. Unlike encoding/csv it
// does not copy every field into a second buffer, which matters at ~1 KB
// rows and hundreds of thousands of rows per second.
type rowReader struct {
	br  *bufio.Reader
	src io.Reader // what br reads
	// In chunk mode (Decoder.Reset) lines are read from data, in memory,
	// and a record's string shares its bytes (borrow).
	data   []byte
	off    int
	chunk  bool
	line   int // physical lines consumed
	start  int // first line of the last record
	raw    string
	fields []string
	acc    []byte
	// pending are lines read ahead and given back (a quoted field that
	// did not close within MaxRecordLines); read before br.
	pending [][]byte
	// longLine is the length of the last line read when it exceeded
	// MaxLineBytes (only its first MaxLineBytes are kept), else 0.
	longLine int
}

// Bounds of the splitter, so that junk cannot take the memory or the rows
// after it: a line longer than MaxLineBytes is one reject (its bytes past
// the bound are skipped, not held), and a quoted field that has not closed
// after MaxRecordLines lines (a stray quote: the dataset's fields hold no
// line breaks) makes only its first line a reject; the lines after it are
// read again as records of their own.
const (
	MaxLineBytes   = 64 << 20
	MaxRecordLines = 4
)

// errCSV is a malformed record; reading can go on with the next one.
type errCSV struct{ msg string }

func (e *errCSV) Error() string { return e.msg }

func newRowReader(r io.Reader) *rowReader {
	return &rowReader{br: bufio.NewReaderSize(r, 1<<20), src: r}
}

// readLine returns the next physical line without its line ending, or
// io.EOF. The slice is valid until the next call.
func (r *rowReader) readLine() ([]byte, error) {
	r.longLine = 0
	if len(r.pending) > 0 {
		line := r.pending[0]
		r.pending = r.pending[1:]
		r.line++
		return line, nil
	}
	if r.chunk {
		return r.chunkLine()
	}
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.acc = append(r.acc[:0], line...)
		total := len(line)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			total += len(line)
			if keep := MaxLineBytes - len(r.acc); keep > 0 {
				r.acc = append(r.acc, line[:min(keep, len(line))]...)
			}
		}
		if total > MaxLineBytes {
			r.longLine = total
		}
		line = r.acc
	}
	if len(line) == 0 && err != nil {
		return nil, err
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	r.line++
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, nil
}

// read returns the fields of the next record. Blank lines are skipped. A
// malformed record returns *errCSV (with raw and start set).
func (r *rowReader) read() ([]string, error) {
	var line []byte
	var err error
	for {
		line, err = r.readLine()
		if err != nil {
			return nil, err
		}
		if len(line) > 0 {
			break
		}
	}
	r.start = r.line
	if r.longLine > 0 {
		r.raw = string(line)
		return nil, &errCSV{fmt.Sprintf("line of %d bytes, longer than %d", r.longLine, MaxLineBytes)}
	}
	var s string
	if r.chunk {
		s = borrow(line) // line is in the chunk, which outlives the record's use
	} else {
		s = string(line)
	}
	// One pass splits a record held on one line. It succeeds only when no
	// quoted field is left open, so the second scan for one (openQuote)
	// runs only for the rare record that fails it.
	if f, msg := splitFields(r.fields[:0], s); msg == "" {
		r.raw, r.fields = s, f
		return f, nil
	}
	// A quoted field may hold line breaks: keep reading while the record
	// ends inside one, for at most MaxRecordLines lines.
	first := len(line)
	var more [][]byte
	if openQuote(line) {
		buf := append([]byte(nil), line...)
		for openQuote(buf) {
			var next []byte
			if len(more)+1 < MaxRecordLines {
				next, err = r.readLine()
			}
			if len(more)+1 >= MaxRecordLines || err == io.EOF || r.longLine > 0 {
				if next != nil {
					more = append(more, append([]byte(nil), next...))
				}
				r.raw = string(buf)
				return nil, r.badLines(more, first, fmt.Sprintf("csv: quoted field not closed on its line (nor within %d lines)", MaxRecordLines))
			}
			if err != nil {
				return nil, err
			}
			more = append(more, append([]byte(nil), next...))
			buf = append(append(buf, '\n'), next...)
		}
		s = string(buf)
	}
	r.raw = s
	f, msg := splitFields(r.fields[:0], s)
	if msg != "" {
		return nil, r.badLines(more, first, msg)
	}
	r.fields = f
	return f, nil
}

// splitFields appends the fields of the record s to f. It returns a
// non-empty message when s is not one well-formed record.
func splitFields(f []string, s string) ([]string, string) {
	for i := 0; ; {
		if i < len(s) && s[i] == '"' {
			// Quoted field.
			j := i + 1
			escaped := false
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return f, "csv: extraneous or missing \" in quoted-field"
				}
				j += k
				if j+1 < len(s) && s[j+1] == '"' {
					escaped = true
					j += 2
					continue
				}
				break
			}
			v := s[i+1 : j]
			if escaped {
				v = strings.ReplaceAll(v, `""`, `"`)
			}
			f = append(f, v)
			j++
			if j == len(s) {
				return f, ""
			}
			if s[j] != ',' {
				return f, "csv: extraneous or missing \" in quoted-field"
			}
			i = j + 1
			if i == len(s) {
				return append(f, ""), ""
			}
			continue
		}
		k := strings.IndexByte(s[i:], ',')
		v := s[i:]
		if k >= 0 {
			v = s[i : i+k]
		}
		if strings.IndexByte(v, '"') >= 0 {
			return f, `csv: bare " in non-quoted field`
		}
		f = append(f, v)
		if k < 0 {
			return f, ""
		}
		i += k + 1
		if i == len(s) {
			return append(f, ""), ""
		}
	}
}

// badLines reports a malformed record. When it spanned several lines, only
// its first line (first bytes of r.raw) is the bad record: the other lines
// are given back to be read as records of their own, so that a stray quote
// does not swallow the rows after it.
func (r *rowReader) badLines(more [][]byte, first int, msg string) error {
	if len(more) > 0 {
		r.pending = append(more, r.pending...)
		r.line -= len(more)
		r.raw = r.raw[:first]
	}
	return &errCSV{msg}
}

// openQuote reports whether a record ends inside a quoted field. Quotes in
// the middle of an unquoted field do not open one (they are an error that
// read reports on this line alone).
func openQuote(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] != '"' {
			k := bytes.IndexByte(b[i:], ',')
			if k < 0 {
				return false
			}
			i += k + 1
			continue
		}
		j := i + 1
		for {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 {
				return true
			}
			j += k
			if j+1 < len(b) && b[j+1] == '"' {
				j += 2
				continue
			}
			break
		}
		k := bytes.IndexByte(b[j:], ',')
		if k < 0 {
			return false
		}
		i = j + k + 1
	}
	return false
}
