package cesnet

import (
	"bufio"
	"bytes"
	"io"
	"unsafe"
)

// Parallel decoding of one day file: after the header, a Splitter cuts the
// rest of the decompressed stream into Chunks of whole records, each
// carrying the number of file lines before it, and any number of worker
// Decoders (Decoder.Worker) decode chunks independently, giving every row
// and reject its true file line number.
//
// A cut is made after a line only when none of the MaxRecordLines-1 lines
// before it ends inside a quoted field (openQuote is false for each: a
// record starting on one of them is that line alone). A record starting
// earlier spans at most MaxRecordLines lines, so it ends before the cut
// (or, unclosed, is rejected there and its other lines are read again as
// records, which again end before the cut). So sequential reading
// (rowReader.read) never reads past such a cut and starts a record right
// after it: chunked decoding yields exactly the rows, rejects and line
// numbers of sequential decoding.

// ChunkBytes is the size a Splitter aims for: about a thousand rows.
const ChunkBytes = 1 << 20

// maxChunkSearch bounds how far a Splitter reads looking for a cut. Past
// it (junk: a line of many megabytes, or quotes on every line) the rest of
// the file is handed over as one Chunk with a Tail, read sequentially by
// one worker, so memory stays bounded whatever the input.
// (Lines of the real files are about 1 KB.)
const maxChunkSearch = 8 << 20

// Chunk is a run of whole records of a day file's body.
type Chunk struct {
	// Data holds the records; it aliases the buffer given to
	// Splitter.Next.
	Data []byte
	// Line is the number of physical lines of the file before Data
	// (header included).
	Line int
	// Tail, when not nil, is the rest of the file after Data: the
	// Splitter found no cut and stops; the chunk is read sequentially.
	Tail io.Reader
}

// Splitter cuts the body of a day file into Chunks. It is not safe for
// concurrent use: one goroutine reads, workers decode.
type Splitter struct {
	r     io.Reader
	size  int
	carry []byte // bytes read past the last cut
	line  int
	err   error // io.EOF or the stream's failure, once seen
	done  bool
}

// ReadHeader reads the header if it has not been read yet. It returns
// io.EOF for a zero-byte file (a day without data) and an error wrapping
// ErrHeader for an unusable header.
func (d *Decoder) ReadHeader() error {
	if d.started {
		if d.empty {
			return io.EOF
		}
		return nil
	}
	return d.header()
}

// Split returns a Splitter over the rest of the file; call it after
// ReadHeader, and read no more rows from d.
func (d *Decoder) Split() *Splitter {
	r := d.r
	var head []byte
	for _, p := range r.pending { // none after a good header; kept exact anyway
		head = append(append(head, p...), '\n')
	}
	if n := r.br.Buffered(); n > 0 {
		b, _ := r.br.Peek(n)
		head = append(head, b...)
	}
	return &Splitter{r: io.MultiReader(bytes.NewReader(head), r.src), size: ChunkBytes, line: r.line}
}

// Next fills buf (grown as needed; pass the Data of a spent chunk, or nil)
// with the next chunk. It returns io.EOF after the last chunk, or the
// stream's error (the records before it were returned).
func (s *Splitter) Next(buf []byte) (Chunk, error) {
	if s.done || (len(s.carry) == 0 && s.err != nil) {
		if s.err == nil || s.done {
			return Chunk{}, io.EOF
		}
		return Chunk{}, s.err
	}
	data := append(buf[:0], s.carry...)
	s.carry = s.carry[:0]
	want := s.size
	for {
		for len(data) < want && s.err == nil {
			if cap(data)-len(data) < 64<<10 {
				data = append(data[:cap(data)], make([]byte, max(want-len(data), 64<<10))...)[:len(data)]
			}
			n, err := s.r.Read(data[len(data):cap(data)])
			data = data[:len(data)+n]
			if err != nil {
				s.err = err
			}
		}
		if s.err != nil && len(data) <= want {
			if s.err != io.EOF {
				// A failed stream: its last, partial line is not a record
				// (as in sequential reading); the error comes next.
				data = data[:bytes.LastIndexByte(data, '\n')+1]
			}
			if len(data) == 0 {
				return s.Next(nil)
			}
			return Chunk{Data: data, Line: s.line}, nil
		}
		if cut := cutPoint(data[:min(len(data), want)]); cut > 0 {
			c := Chunk{Data: data[:cut], Line: s.line}
			s.carry = append(s.carry, data[cut:]...)
			s.line += bytes.Count(c.Data, []byte{'\n'})
			return c, nil
		}
		if want >= maxChunkSearch && s.err == nil {
			s.done = true
			return Chunk{Data: data, Line: s.line, Tail: s.r}, nil
		}
		want *= 2 // look further for a cut
	}
}

// cutPoint returns the offset after the last line of data after which a
// record surely starts (see the package comment above), or 0. data starts
// at a record.
func cutPoint(data []byte) int {
	end := bytes.LastIndexByte(data, '\n') + 1
	pos, clean := end, 0
	for clean < MaxRecordLines-1 && pos > 0 {
		start := bytes.LastIndexByte(data[:pos-1], '\n') + 1
		if openQuote(bytes.TrimSuffix(data[start:pos-1], []byte{'\r'})) {
			end, clean = start, 0 // a record starts at this line at the latest
		} else {
			clean++
		}
		pos = start
	}
	return end
}

// Worker returns a decoder of chunks of the same file, sharing d's header
// (call d.ReadHeader first). Its Rows and Rejects count what it decoded.
func (d *Decoder) Worker() *Decoder {
	return &Decoder{file: d.file, day: d.day, week: d.week, idx: d.idx, nfields: d.nfields,
		missing: d.missing, extra: d.extra, started: true, r: &rowReader{}}
}

// Reset makes a worker decoder read the chunk c. The strings of rows read
// from a chunk point into c.Data: they are valid until the next Read (copy
// what is kept); a Reject owns its memory.
func (d *Decoder) Reset(c Chunk) {
	r := d.r
	r.pending, r.raw, r.line, r.start = nil, "", c.Line, c.Line
	if c.Tail != nil {
		src := io.MultiReader(bytes.NewReader(c.Data), c.Tail)
		if r.br == nil {
			r.br = bufio.NewReaderSize(src, 1<<20)
		} else {
			r.br.Reset(src)
		}
		r.data, r.chunk = nil, false
		return
	}
	r.data, r.off, r.chunk = c.Data, 0, true
}

// chunkLine is readLine over a chunk held in memory: no copy.
func (r *rowReader) chunkLine() ([]byte, error) {
	if r.off >= len(r.data) {
		return nil, io.EOF
	}
	rest := r.data[r.off:]
	line := rest
	if k := bytes.IndexByte(rest, '\n'); k >= 0 {
		line = rest[:k]
		r.off += k + 1
	} else {
		r.off = len(r.data)
	}
	r.line++
	r.longLine = 0
	if total := r.off - (len(r.data) - len(rest)); total > MaxLineBytes { // never within maxChunkSearch; kept exact
		r.longLine = total
		line = line[:MaxLineBytes]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// borrow returns a string sharing line's bytes (chunk mode only: the
// chunk outlives the row's use).
func borrow(line []byte) string {
	if len(line) == 0 {
		return ""
	}
	return unsafe.String(&line[0], len(line))
}
