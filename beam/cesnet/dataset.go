package cesnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DayFileInfo is one day file found under a dataset root.
type DayFileInfo struct {
	Path      string // path of the flow file
	StatsPath string // path of the stats-YYYYMMDD.json beside it ("" if absent)
	Day       time.Time
	Size      int64
}

// FindDayFiles walks a local dataset root and returns its flow files with
// from <= day <= to (zero times mean no bound), sorted by day. A day with
// several encodings (.csv.xz and .csv) is an error: it would be read twice.
func FindDayFiles(root string, from, to time.Time) ([]DayFileInfo, error) {
	var out []DayFileInfo
	seen := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.HasPrefix(e.Name(), "flows-") {
			return nil
		}
		day, err := DayOfFile(e.Name())
		if err != nil {
			return nil // not a day file
		}
		if (!from.IsZero() && day.Before(from)) || (!to.IsZero() && day.After(to)) {
			return nil
		}
		key := day.Format(DayLayout)
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("schema: day %s has two flow files: %s and %s", key, prev, p)
		}
		seen[key] = p
		info, err := e.Info()
		if err != nil {
			return err
		}
		fi := DayFileInfo{Path: p, Day: day, Size: info.Size()}
		sp := filepath.Join(filepath.Dir(p), "stats-"+day.Format("20060102")+".json")
		if _, err := os.Stat(sp); err == nil {
			fi.StatsPath = sp
		}
		out = append(out, fi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schema: walk %s: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out, nil
}

// FileCounts summarises the decoding of one day file.
type FileCounts struct {
	Rows, Good, Rejects int64
	Empty               bool
}

// DecodeFile decodes a local day file, calling good for every valid flow and
// bad for every reject. The Flow passed to good is reused between calls.
func DecodeFile(ctx context.Context, path string, mode XZMode, good func(*Flow) error, bad func(*Reject) error) (FileCounts, error) {
	rc, err := OpenFile(ctx, path, mode)
	if err != nil {
		return FileCounts{}, err
	}
	defer rc.Close()
	d := NewDecoder(rc, path)
	var f Flow
	var c FileCounts
	for {
		err := d.Read(&f)
		if err == io.EOF {
			break
		}
		var rej *Reject
		switch {
		case errors.As(err, &rej):
			c.Rejects++
			if bad != nil {
				if err := bad(rej); err != nil {
					return c, err
				}
			}
		case err != nil:
			return c, fmt.Errorf("schema: %s: %w", path, err)
		default:
			c.Good++
			if good != nil {
				if err := good(&f); err != nil {
					return c, err
				}
			}
		}
		if c.Good%65536 == 0 && ctx.Err() != nil {
			return c, ctx.Err()
		}
	}
	c.Rows = d.Rows()
	c.Empty = d.Empty()
	return c, nil
}
