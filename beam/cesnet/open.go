package cesnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// XZMode selects how .xz files are decompressed.
type XZMode int

const (
	// XZAuto uses the xz program (liblzma) when it is on PATH, else pure Go.
	XZAuto XZMode = iota
	// XZGo always uses the pure-Go decoder.
	XZGo
	// XZExec always uses the xz program and fails without it.
	XZExec
)

// Decompress wraps r, the bytes of the file called name, with the
// decompressor its extension asks for (.xz, .gz, or none). Decompression runs
// ahead in its own goroutine (or process, for xz) so that it overlaps with
// the caller's parsing. Close the result to release it.
func Decompress(ctx context.Context, r io.Reader, name string, mode XZMode) (io.ReadCloser, error) {
	switch {
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(r)
		if err == io.EOF { // zero-byte file
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		if err != nil {
			return nil, fmt.Errorf("schema: %s: gzip: %w", name, err)
		}
		return readAhead(ctx, zr, name), nil
	case strings.HasSuffix(name, ".xz"):
		path, lookErr := exec.LookPath("xz")
		if mode == XZExec && lookErr != nil {
			return nil, fmt.Errorf("schema: %s: xz program: %w", name, lookErr)
		}
		br := &peekReader{r: r}
		if br.empty() { // zero-byte file: a day without data
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		if mode != XZGo && lookErr == nil {
			return execXZ(ctx, path, br, name)
		}
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("schema: %s: xz: %w", name, err)
		}
		return readAhead(ctx, zr, name), nil
	}
	return io.NopCloser(r), nil
}

// OpenFile opens a local day file and decompresses it.
func OpenFile(ctx context.Context, name string, mode XZMode) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	rc, err := Decompress(ctx, f, name, mode)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &closeBoth{ReadCloser: rc, under: f}, nil
}

type closeBoth struct {
	io.ReadCloser
	under io.Closer
}

func (c *closeBoth) Close() error {
	err := c.ReadCloser.Close()
	if err2 := c.under.Close(); err == nil {
		err = err2
	}
	return err
}

// peekReader lets us tell a zero-byte file from a stream.
type peekReader struct {
	r    io.Reader
	head []byte
}

func (p *peekReader) empty() bool {
	var b [1]byte
	n, _ := io.ReadFull(p.r, b[:])
	p.head = b[:n]
	return n == 0
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.r.Read(b)
}

type xzProc struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *bytes.Buffer
	name   string
	cancel context.CancelFunc
	done   bool
}

func execXZ(ctx context.Context, path string, r io.Reader, name string) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	// -T0: xz (5.4+) decompresses the blocks of a multi-block file on
	// every core; a single-block file is decompressed by one thread.
	cmd := exec.CommandContext(ctx, path, "-dc", "-T0")
	cmd.Stdin = r
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("schema: %s: xz: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("schema: %s: xz: %w", name, err)
	}
	return &xzProc{cmd: cmd, out: out, stderr: &stderr, name: name, cancel: cancel}, nil
}

func (p *xzProc) Read(b []byte) (int, error) {
	n, err := p.out.Read(b)
	if err == io.EOF && !p.done {
		p.done = true
		if werr := p.cmd.Wait(); werr != nil {
			return n, fmt.Errorf("schema: %s: xz: %v: %s", p.name, werr, strings.TrimSpace(p.stderr.String()))
		}
	}
	return n, err
}

func (p *xzProc) Close() error {
	p.cancel()
	if !p.done {
		p.done = true
		_ = p.cmd.Wait()
	}
	return nil
}

// readAhead runs r in a goroutine, handing over 256 KiB chunks, so
// decompression and parsing use two cores.
func readAhead(ctx context.Context, r io.Reader, name string) io.ReadCloser {
	ctx, cancel := context.WithCancel(ctx)
	ra := &aheadReader{ch: make(chan chunk, 4), free: make(chan []byte, 6), cancel: cancel}
	for range 6 {
		ra.free <- make([]byte, 256<<10)
	}
	go func() {
		defer close(ra.ch)
		for {
			var buf []byte
			select {
			case buf = <-ra.free:
			case <-ctx.Done():
				return
			}
			n, err := fill(r, buf)
			if err != nil && err != io.EOF {
				err = fmt.Errorf("schema: %s: %w", name, err)
			}
			select {
			case ra.ch <- chunk{buf: buf[:n], err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

// fill reads into buf until it is full or r fails. Unlike io.ReadFull it
// keeps r's own error: a decompressor's io.ErrUnexpectedEOF (a truncated
// stream) must not read as the clean end of a short last chunk.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

type chunk struct {
	buf []byte
	err error
}

type aheadReader struct {
	ch     chan chunk
	free   chan []byte
	cur    chunk
	off    int
	cancel context.CancelFunc
	err    error
}

func (a *aheadReader) Read(b []byte) (int, error) {
	for a.off == len(a.cur.buf) {
		if a.err != nil {
			return 0, a.err
		}
		if a.cur.buf != nil {
			a.free <- a.cur.buf[:cap(a.cur.buf)]
			a.cur.buf = nil
		}
		c, ok := <-a.ch
		if !ok {
			if a.err == nil {
				a.err = errors.New("schema: read after close")
			}
			return 0, a.err
		}
		a.cur, a.off, a.err = c, 0, c.err
		if len(c.buf) == 0 && c.err != nil {
			return 0, c.err
		}
	}
	n := copy(b, a.cur.buf[a.off:])
	a.off += n
	return n, nil
}

func (a *aheadReader) Close() error {
	a.cancel()
	return nil
}
