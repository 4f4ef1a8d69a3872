package drift

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/parquet-go/parquet-go"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// The flow_features columns the daily check reads (see Day.AddFlow and
// Extract); the others (id, hour, ppi_len, sni_bucket, dst_asn, week) are
// not decoded.
var (
	flowStrings = [...]string{"day", "app", "category", "sni_domain"}
	flowLists   = [...]string{"stats", "phist", "ppi"}
)

const flowJA3 = "ja3_bucket"

// ReadDay counts into d the rows of day in files (data files of the
// flow_features table t), decoding only the columns the check reads, column
// by column, one row group per worker (workers ≤ 0: one per CPU); each
// worker counts into its own Day, merged into d at the end. The counts are
// those of d.AddFlow over the same rows (TestReadDayMatchesRows).
// progress, if not nil, is called after each row group with the rows of
// day counted so far.
func ReadDay(ctx context.Context, t *lakehouse.Table, files []lakehouse.Add, d *Day, workers int, progress func(flows int64)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	days := make([]*Day, workers)
	days[0] = d
	for i := 1; i < workers; i++ {
		days[i] = d.empty()
	}
	var (
		mu      sync.Mutex
		counted int64
	)
	for _, a := range files {
		key, err := lakehouse.FilePath(a.Path)
		if err != nil {
			return fmt.Errorf("drift: %w", err)
		}
		if err := readDayFile(ctx, t, key, d.Date, days, func(n int64) {
			if progress != nil {
				mu.Lock()
				counted += n
				progress(counted)
				mu.Unlock()
			}
		}); err != nil {
			return err
		}
	}
	for _, o := range days[1:] {
		d.merge(o)
	}
	return nil
}

// readDayFile reads the row groups of one data file, spread over the
// workers (one Day each).
func readDayFile(ctx context.Context, t *lakehouse.Table, key, day string, days []*Day, done func(int64)) error {
	r, err := t.Store().Open(ctx, key)
	if err != nil {
		return fmt.Errorf("drift: read %s: %w", key, err)
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(1<<20))
	if err != nil {
		return fmt.Errorf("drift: read %s: %w", key, err)
	}
	cols, err := flowColumns(f.Schema())
	if err != nil {
		return fmt.Errorf("drift: read %s: %w", key, err)
	}
	groups := f.RowGroups()
	next := make(chan int, len(groups))
	for i := range groups {
		next <- i
	}
	close(next)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(days))
	var wg sync.WaitGroup
	for w, d := range days {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range next {
				n, err := readDayGroup(ctx, groups[g], cols, day, d)
				if err != nil {
					errs[w] = fmt.Errorf("drift: read %s: row group %d: %w", key, g, err)
					cancel()
					return
				}
				done(n)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// leaf is one leaf column of a file's schema.
type leaf struct {
	index  int
	maxDef int
	kind   parquet.Kind
}

// fileColumns locates the columns the check reads in a file's schema.
type fileColumns struct {
	strings [len(flowStrings)]leaf
	lists   [len(flowLists)]leaf
	ja3     leaf
}

// flowColumns finds the leaf columns of the check in s, by top-level name:
// whatever a writer named the list levels, a list column has one leaf.
func flowColumns(s *parquet.Schema) (*fileColumns, error) {
	byName := map[string][]leaf{}
	for _, path := range s.Columns() {
		lc, ok := s.Lookup(path...)
		if !ok {
			continue
		}
		byName[path[0]] = append(byName[path[0]], leaf{index: lc.ColumnIndex, maxDef: lc.MaxDefinitionLevel, kind: lc.Node.Type().Kind()})
	}
	one := func(name string, kind parquet.Kind) (leaf, error) {
		l := byName[name]
		if len(l) != 1 {
			return leaf{}, fmt.Errorf("column %s: %d leaf columns, want 1", name, len(l))
		}
		if l[0].kind != kind {
			return leaf{}, fmt.Errorf("column %s: %s values, want %s", name, l[0].kind, kind)
		}
		return l[0], nil
	}
	var c fileColumns
	var err error
	for i, name := range flowStrings {
		if c.strings[i], err = one(name, parquet.ByteArray); err != nil {
			return nil, err
		}
	}
	for i, name := range flowLists {
		if c.lists[i], err = one(name, parquet.Float); err != nil {
			return nil, err
		}
	}
	if c.ja3, err = one(flowJA3, parquet.Int32); err != nil {
		return nil, err
	}
	return &c, nil
}

// readDayGroup counts the rows of day of one row group into d and returns
// how many it counted.
func readDayGroup(ctx context.Context, rg parquet.RowGroup, cols *fileColumns, day string, d *Day) (int64, error) {
	chunks := rg.ColumnChunks()
	var strs [len(flowStrings)]*column
	var lists [len(flowLists)]*column
	for i, l := range cols.strings {
		strs[i] = newColumn(chunks[l.index], l, flowStrings[i], false)
	}
	for i, l := range cols.lists {
		lists[i] = newColumn(chunks[l.index], l, flowLists[i], true)
	}
	ja3 := newColumn(chunks[cols.ja3.index], cols.ja3, flowJA3, false)
	all := append(append(strs[:], lists[:]...), ja3)
	defer func() {
		for _, c := range all {
			c.close()
		}
	}()
	want := []byte(day)
	var row tablerow.FlowFeatures
	var counted int64
	interned := map[string]string{}
	str := func(b []byte) string {
		s, ok := interned[string(b)]
		if !ok {
			s = string(b)
			interned[s] = s
		}
		return s
	}
	for i := range rg.NumRows() {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return counted, err
			}
		}
		var err error
		var dayB []byte
		if dayB, err = strs[0].bytes(); err != nil {
			return counted, err
		}
		if !bytes.Equal(dayB, want) {
			for _, c := range all[1:] {
				if err := c.skip(); err != nil {
					return counted, err
				}
			}
			continue
		}
		var s [len(flowStrings) - 1][]byte
		for j := range s {
			if s[j], err = strs[j+1].bytes(); err != nil {
				return counted, err
			}
		}
		row.App, row.Category, row.SNIDomain = str(s[0]), str(s[1]), str(s[2])
		if row.Stats, err = lists[0].floats(row.Stats[:0]); err != nil {
			return counted, err
		}
		if row.PHist, err = lists[1].floats(row.PHist[:0]); err != nil {
			return counted, err
		}
		if row.PPI, err = lists[2].floats(row.PPI[:0]); err != nil {
			return counted, err
		}
		if row.JA3Bucket, err = ja3.int32(); err != nil {
			return counted, err
		}
		d.AddFlow(&row)
		counted++
	}
	return counted, nil
}

// column reads one leaf column of a row group page by page, a row at a
// time, from the pages' decoded values and levels (no parquet.Value per
// value, no row reconstruction).
type column struct {
	name   string
	list   bool // a list column: a row is one or more levels
	pages  parquet.Pages
	done   bool // no page left
	maxDef byte
	page   parquet.Page
	rep    []byte // repetition levels of the page (nil: every level starts a row)
	def    []byte // definition levels (nil: every level holds a value)
	n      int    // levels of the page
	i, v   int    // next level, next value
	// values of the page
	fvals   []float32
	ints    []int32
	data    []byte
	offsets []uint32
	dict    []int32 // dictionary indexes (nil: plain values)
}

func newColumn(cc parquet.ColumnChunk, l leaf, name string, list bool) *column {
	return &column{name: name, list: list, pages: cc.Pages(), maxDef: byte(l.maxDef)}
}

func (c *column) close() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.pages.Close()
}

// load reads the next page; io.ErrUnexpectedEOF when there is none.
func (c *column) load() error {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	p, err := c.pages.ReadPage()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("column %s: %w: fewer values than rows", c.name, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return fmt.Errorf("column %s: %w", c.name, err)
	}
	c.page, c.i, c.v = p, 0, 0
	c.n = int(p.NumValues())
	c.rep, c.def = p.RepetitionLevels(), p.DefinitionLevels()
	data := p.Data()
	c.dict = nil
	if dict := p.Dictionary(); dict != nil {
		c.dict = data.Int32()
		data = dict.Page().Data()
	}
	switch p.Type().Kind() {
	case parquet.Float:
		c.fvals = data.Float()
	case parquet.Int32:
		c.ints = data.Int32()
	case parquet.ByteArray:
		c.data, c.offsets = data.ByteArray()
	}
	return nil
}

// level moves to the next level of the column, loading pages as needed,
// and reports whether it holds a value (at index c.v-1) and whether it
// starts a row.
func (c *column) level() (value, first bool, err error) {
	for c.i >= c.n {
		if err := c.load(); err != nil {
			return false, false, err
		}
	}
	first = c.rep == nil || c.rep[c.i] == 0
	value = c.def == nil || c.def[c.i] == c.maxDef
	c.i++
	if value {
		c.v++
	}
	return value, first, nil
}

// index returns the position in the page's values of value k, through the
// dictionary if the page has one.
func (c *column) index(k int) (int, error) {
	if c.dict == nil {
		return k, nil
	}
	if k >= len(c.dict) {
		return 0, fmt.Errorf("column %s: value %d of a page of %d", c.name, k, len(c.dict))
	}
	return int(c.dict[k]), nil
}

// bytes returns the row's byte array (nil for a null), valid until the
// next page.
func (c *column) bytes() ([]byte, error) {
	ok, _, err := c.level()
	if err != nil || !ok {
		return nil, err
	}
	k, err := c.index(c.v - 1)
	if err != nil {
		return nil, err
	}
	if k+1 >= len(c.offsets) {
		return nil, fmt.Errorf("column %s: value %d of %d", c.name, k, len(c.offsets)-1)
	}
	return c.data[c.offsets[k]:c.offsets[k+1]], nil
}

// int32 returns the row's value (0 for a null).
func (c *column) int32() (int32, error) {
	ok, _, err := c.level()
	if err != nil || !ok {
		return 0, err
	}
	k, err := c.index(c.v - 1)
	if err != nil {
		return 0, err
	}
	if k >= len(c.ints) {
		return 0, fmt.Errorf("column %s: value %d of %d", c.name, k, len(c.ints))
	}
	return c.ints[k], nil
}

// floats appends the row's list to dst (an empty or null list appends
// nothing; so does a null element).
func (c *column) floats(dst []float32) ([]float32, error) {
	for first := true; ; first = false {
		if !first {
			// Does the next level continue the row? Peek, loading the
			// next page if this one is done (a row may span pages).
			for c.i >= c.n {
				if c.done {
					return dst, nil
				}
				if err := c.load(); err != nil {
					if errors.Is(err, io.ErrUnexpectedEOF) {
						c.n, c.i, c.done = 0, 0, true
						return dst, nil // the last row of the row group
					}
					return dst, err
				}
			}
			if c.rep == nil || c.rep[c.i] == 0 {
				return dst, nil
			}
		}
		ok, start, err := c.level()
		if err != nil {
			return dst, err
		}
		if first && !start {
			return dst, fmt.Errorf("column %s: a row starts inside a list", c.name)
		}
		if ok {
			k, err := c.index(c.v - 1)
			if err != nil {
				return dst, err
			}
			if k >= len(c.fvals) {
				return dst, fmt.Errorf("column %s: value %d of %d", c.name, k, len(c.fvals))
			}
			dst = append(dst, c.fvals[k])
		}
	}
}

// skip moves past one row.
func (c *column) skip() error {
	var err error
	if c.list {
		_, err = c.floats(nil)
		return err
	}
	_, _, err = c.level()
	return err
}
