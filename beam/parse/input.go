package parse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Input is one raw day file to parse.
type Input struct {
	Root    string    `json:"root"`     // the store root: a local folder or s3://bucket/prefix
	Key     string    `json:"key"`      // slash path under Root
	Day     string    `json:"day"`      // YYYY-MM-DD, from the file name
	Size    int64     `json:"size"`     // bytes as stored (compressed)
	ModTime time.Time `json:"mod_time"` // for the run fingerprint
	// Stats is the key of the day's stats-YYYYMMDD.json beside the file
	// ("" when there is none), whose row count the day must match.
	Stats        string    `json:"stats,omitempty"`
	StatsSize    int64     `json:"stats_size,omitempty"`
	StatsModTime time.Time `json:"stats_mod_time,omitzero"`
}

// statsKey returns the key of the stats file beside a flow file key.
func statsKey(key string, day time.Time) string {
	return path.Join(path.Dir(key), "stats-"+day.Format("20060102")+".json")
}

// Name returns the path recorded in rejects: the path under the dataset
// root (e.g. WEEK-2022-10/2022-03-07/flows-20220307.csv.xz), found from
// the WEEK- folder whatever root or glob named the file; else the key.
func (in Input) Name() string {
	full := strings.TrimRight(filepath.ToSlash(in.Root), "/") + "/" + in.Key
	if i := strings.LastIndex(full, "/WEEK-"); i >= 0 {
		return full[i+1:]
	}
	return in.Key
}

func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// ListInputs finds the day files of input with from <= day <= to (zero:
// no bound), sorted by day. input is a dataset root or a glob of day files,
// local or s3://bucket/prefix. A day with two files (.csv.xz and .csv) is
// an error.
func ListInputs(ctx context.Context, input string, from, to time.Time) ([]Input, error) {
	if input == "" {
		return nil, fmt.Errorf("parse: no input")
	}
	var out []Input
	others := map[string]storage.ObjectInfo{} // every listed object, for stats files (S3)
	if strings.HasPrefix(input, "s3://") {
		root, pattern := input, ""
		if hasGlob(input) {
			i := strings.IndexAny(input, "*?[")
			j := strings.LastIndex(input[:i], "/")
			root, pattern = input[:j], input[j+1:]
		}
		st, err := deltaio.OpenStorage(ctx, root)
		if err != nil {
			return nil, err
		}
		objs, err := st.List(ctx, "", "")
		if err != nil {
			return nil, fmt.Errorf("parse: list %s: %w", root, err)
		}
		for _, o := range objs {
			others[o.Key] = o
			if pattern != "" {
				if ok, _ := path.Match(pattern, o.Key); !ok {
					continue
				}
			}
			out = append(out, Input{Root: strings.TrimRight(root, "/"), Key: o.Key, Size: o.Size, ModTime: o.ModTime})
		}
	} else if hasGlob(input) {
		paths, err := filepath.Glob(input)
		if err != nil {
			return nil, fmt.Errorf("parse: glob %s: %w", input, err)
		}
		i := strings.IndexAny(input, "*?[")
		root := filepath.Dir(input[:i+1])
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("parse: %w", err)
			}
			if fi.IsDir() {
				continue
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return nil, fmt.Errorf("parse: %w", err)
			}
			out = append(out, Input{Root: root, Key: filepath.ToSlash(rel), Size: fi.Size(), ModTime: fi.ModTime()})
		}
	} else {
		root := strings.TrimPrefix(input, "file://")
		files, err := cesnet.FindDayFiles(root, from, to)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		for _, f := range files {
			fi, err := os.Stat(f.Path)
			if err != nil {
				return nil, fmt.Errorf("parse: %w", err)
			}
			rel, err := filepath.Rel(root, f.Path)
			if err != nil {
				return nil, fmt.Errorf("parse: %w", err)
			}
			out = append(out, Input{Root: abs, Key: filepath.ToSlash(rel), Size: fi.Size(), ModTime: fi.ModTime()})
		}
	}
	// Keep day files in range; one file per day.
	kept := out[:0]
	seen := map[string]string{}
	for _, in := range out {
		if !strings.HasPrefix(path.Base(in.Key), "flows-") {
			continue
		}
		day, err := cesnet.DayOfFile(path.Base(in.Key))
		if err != nil {
			continue
		}
		if (!from.IsZero() && day.Before(from)) || (!to.IsZero() && day.After(to)) {
			continue
		}
		in.Day = day.Format(cesnet.DayLayout)
		sk := statsKey(in.Key, day)
		if o, ok := others[sk]; ok {
			in.Stats, in.StatsSize, in.StatsModTime = sk, o.Size, o.ModTime
		} else if !strings.HasPrefix(in.Root, "s3://") {
			if fi, err := os.Stat(filepath.Join(in.Root, filepath.FromSlash(sk))); err == nil && !fi.IsDir() {
				in.Stats, in.StatsSize, in.StatsModTime = sk, fi.Size(), fi.ModTime()
			}
		}
		if prev, dup := seen[in.Day]; dup {
			return nil, fmt.Errorf("parse: day %s has two flow files: %s and %s", in.Day, prev, in.Key)
		}
		seen[in.Day] = in.Key
		kept = append(kept, in)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Day < kept[j].Day })
	return kept, nil
}

// errStorage marks a failure of storage, not of the file: its stored bytes
// could not be read (storage down, permission) or the rows could not be
// written. The job fails and Airflow retries it. Every other failure of a
// day file (a bad header, a corrupt or truncated stream, counts that
// disagree with its stats file) is the file's own and quarantines it.
var errStorage = errors.New("storage")

// sourceReader notes whether reading the stored bytes failed, so that a
// decompressor's complaint about the stream it was given (xz reports a
// short input as corrupt data) is not mistaken for a bad file.
type sourceReader struct {
	r      io.Reader
	failed atomic.Bool
}

func (s *sourceReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if err != nil && err != io.EOF {
		s.failed.Store(true)
		err = fmt.Errorf("%w: %w", errStorage, err)
	}
	return n, err
}

// open returns the decompressed content of a day file, streamed, and the
// reader of its stored bytes.
func (in Input) open(ctx context.Context, mode cesnet.XZMode) (io.ReadCloser, *sourceReader, error) {
	var raw io.Reader
	var closer io.Closer
	if strings.HasPrefix(in.Root, "s3://") {
		st, err := deltaio.OpenStorage(ctx, in.Root)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errStorage, err)
		}
		r, err := st.Open(ctx, in.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: open %s/%s: %w", errStorage, in.Root, in.Key, err)
		}
		// Each ReadAt is one ranged GET: read in large chunks.
		raw, closer = bufio.NewReaderSize(io.NewSectionReader(r, 0, r.Size()), 8<<20), r
	} else {
		f, err := os.Open(filepath.Join(in.Root, filepath.FromSlash(in.Key)))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errStorage, err)
		}
		raw, closer = f, f
	}
	src := &sourceReader{r: raw}
	rc, err := cesnet.Decompress(ctx, src, in.Key, mode)
	if err != nil {
		closer.Close()
		return nil, src, fmt.Errorf("parse: %w", err)
	}
	return &closeBoth{ReadCloser: rc, under: closer}, src, nil
}

// readStats reads the day's stats file; ok is false when there is none.
func (in Input) readStats(ctx context.Context) (st cesnet.Stats, ok bool, err error) {
	if in.Stats == "" {
		return st, false, nil
	}
	var b []byte
	if strings.HasPrefix(in.Root, "s3://") {
		store, err := deltaio.OpenStorage(ctx, in.Root)
		if err != nil {
			return st, false, fmt.Errorf("%w: %w", errStorage, err)
		}
		if b, err = store.Get(ctx, in.Stats); err != nil {
			return st, false, fmt.Errorf("%w: %w", errStorage, err)
		}
	} else if b, err = os.ReadFile(filepath.Join(in.Root, filepath.FromSlash(in.Stats))); err != nil {
		return st, false, fmt.Errorf("%w: %w", errStorage, err)
	}
	st, err = cesnet.ReadStats(bytes.NewReader(b), in.Stats)
	return st, err == nil, err
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

// Fingerprint identifies a set of inputs by name, size and modification
// time (what make and rsync compare), for the run's txn app id.
func Fingerprint(inputs []Input) []string {
	out := make([]string, 0, len(inputs))
	for _, in := range inputs {
		fp := fmt.Sprintf("%s|%d|%d", in.Key, in.Size, in.ModTime.UnixNano())
		if in.Stats != "" { // a corrected stats file is a new run
			fp += fmt.Sprintf("|%s|%d|%d", in.Stats, in.StatsSize, in.StatsModTime.UnixNano())
		}
		out = append(out, fp)
	}
	return out
}
