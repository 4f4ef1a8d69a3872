package schema

import (
	"bufio"
	"bytes"

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
	br     *bufio.Reader
	line   int // physical lines consumed
	start  int // first line of the last record
	raw    string
	fields []string
	acc    []byte
}

// errCSV is a malformed record; reading can go on with the next one.
type errCSV struct{ msg string }

func (e *errCSV) Error() string { return e.msg }

func newRowReader(r io.Reader) *rowReader {
	return &rowReader{br: bufio.NewReaderSize(r, 1<<20)}
}

// readLine returns the next physical line without its line ending, or
// io.EOF. The slice is valid until the next call.
func (r *rowReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.acc = append(r.acc[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			r.acc = append(r.acc, line...)
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
	// A quoted field may hold line breaks: keep reading while the record
	// ends inside one.
	if openQuote(line) {
		buf := append([]byte(nil), line...)
		for openQuote(buf) {
			next, err := r.readLine()
			if err == io.EOF {
				r.raw = string(buf)
				return nil, &errCSV{"csv: extraneous or missing \" in quoted-field"}
			}
			if err != nil {
				return nil, err
			}
			buf = append(append(buf, '\n'), next...)
		}
		line = buf
	}
	s := string(line)
	r.raw = s
	f := r.fields[:0]
	for i := 0; ; {
		if i < len(s) && s[i] == '"' {
			// Quoted field.
			j := i + 1
			escaped := false
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return nil, &errCSV{"csv: extraneous or missing \" in quoted-field"}
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
				break
			}
			if s[j] != ',' {
				return nil, &errCSV{"csv: extraneous or missing \" in quoted-field"}
			}
			i = j + 1
			if i == len(s) {
				f = append(f, "")
				break
			}
			continue
		}
		k := strings.IndexByte(s[i:], ',')
		v := s[i:]
		if k >= 0 {
			v = s[i : i+k]
		}
		if strings.IndexByte(v, '"') >= 0 {
			return nil, &errCSV{`csv: bare " in non-quoted field`}
		}
		f = append(f, v)
		if k < 0 {
			break
		}
		i += k + 1
		if i == len(s) {
			f = append(f, "")
			break
		}
	}
	r.fields = f
	return f, nil
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
