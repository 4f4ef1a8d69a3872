package classify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Source yields flow_features rows by day. RawSource computes them from a raw
// dataset; LakeSource reads the flow_features Delta table.
type Source interface {
	// Days returns the days with data, sorted.
	Days(ctx context.Context) ([]time.Time, error)
	// Scan calls fn for every row of the days in [from, to], in a stable
	// order. The row passed to fn is reused between calls.
	Scan(ctx context.Context, from, to time.Time, fn func(*tablerow.FlowFeatures) error) error
	// Version identifies the data, to be recorded with a model.
	Version() DataVersion
}

// DataVersion names the exact data a model learned from or was scored on.
type DataVersion struct {
	Kind string `json:"kind"` // "raw" or "delta"
	URI  string `json:"uri"`  // dataset root or table URI
	// Table and Version pin a Delta table version.
	Table   string `json:"table,omitempty"`
	Version *int64 `json:"version,omitempty"`
	// Files and Fingerprint identify a raw dataset: the number of day files
	// and a SHA-256 over their names and sizes.
	Files       int    `json:"files,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Features is the hashing configuration the rows were computed with.
	Features featuredef.FeatureConfig `json:"features"`
}

// Equal reports whether d and o name the same data.
func (d DataVersion) Equal(o DataVersion) bool {
	dv, ov := d.Version, o.Version
	d.Version, o.Version = nil, nil
	return d == o && (dv == nil) == (ov == nil) && (dv == nil || *dv == *ov)
}

// RawSource computes flow_features rows from a raw dataset directory (the
// CESNET-TLS-Year22 layout) with featuredef.Features. Rejected rows are skipped
// and counted.
type RawSource struct {
	root     string
	features featuredef.FeatureConfig
	files    []cesnet.DayFileInfo
	rejects  int64
}

// NewRawSource lists the day files under root.
func NewRawSource(root string, features featuredef.FeatureConfig) (*RawSource, error) {
	files, err := cesnet.FindDayFiles(root, time.Time{}, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("classify: no day files under %s", root)
	}
	return &RawSource{root: root, features: features.WithDefaults(), files: files}, nil
}

// Days implements Source.
func (s *RawSource) Days(context.Context) ([]time.Time, error) {
	out := make([]time.Time, len(s.files))
	for i, f := range s.files {
		out[i] = f.Day
	}
	return out, nil
}

// Scan implements Source.
func (s *RawSource) Scan(ctx context.Context, from, to time.Time, fn func(*tablerow.FlowFeatures) error) error {
	var ff tablerow.FlowFeatures
	for _, fi := range s.files {
		if fi.Day.Before(from) || fi.Day.After(to) {
			continue
		}
		c, err := cesnet.DecodeFile(ctx, fi.Path, cesnet.XZAuto, func(f *cesnet.Flow) error {
			featuredef.Features(f, s.features, &ff)
			return fn(&ff)
		}, nil)
		if err != nil {
			return fmt.Errorf("classify: %w", err)
		}
		s.rejects += c.Rejects
	}
	return nil
}

// Rejects returns the number of rows skipped as invalid so far.
func (s *RawSource) Rejects() int64 { return s.rejects }

// Version implements Source.
func (s *RawSource) Version() DataVersion {
	h := sha256.New()
	for _, f := range s.files {
		rel, err := filepath.Rel(s.root, f.Path)
		if err != nil {
			rel = filepath.Base(f.Path)
		}
		fmt.Fprintf(h, "%s\t%d\n", filepath.ToSlash(rel), f.Size)
	}
	uri, err := filepath.Abs(s.root)
	if err != nil {
		uri = s.root
	}
	return DataVersion{Kind: "raw", URI: uri, Files: len(s.files),
		Fingerprint: hex.EncodeToString(h.Sum(nil)), Features: s.features}
}

// SourceFlags are the data flags of the train and evaluate tasks: a raw
// dataset root, or the flow_features Delta table of a lake at a pinned
// version.
type SourceFlags struct {
	Raw, Lake string
	Version   int64
	// Store configures S3 access for --lake (the task's main fills it from
	// the environment).
	Store storage.Options
}

// Open opens the rows the flags name.
func (f SourceFlags) Open(ctx context.Context) (Source, error) {
	switch {
	case f.Raw != "" && f.Lake != "":
		return nil, errors.New("classify: give --raw or --lake, not both")
	case f.Raw != "":
		return NewRawSource(f.Raw, featuredef.FeatureConfig{})
	case f.Lake != "":
		return OpenLakeSource(ctx, f.Lake, f.Version, f.Store)
	}
	return nil, errors.New("classify: no data: give --raw DIR or --lake URI [--version N]")
}

// Week is one dataset week: its label and the days of it that have data.
type Week struct {
	Label string    `json:"label"` // "2022-W10"
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Days  int       `json:"days"`
}

// Weeks groups sorted days into dataset weeks.
func Weeks(days []time.Time) []Week {
	var out []Week
	for _, d := range days {
		l := cesnet.WeekLabel(d)
		if n := len(out); n > 0 && out[n-1].Label == l {
			out[n-1].To = d
			out[n-1].Days++
			continue
		}
		out = append(out, Week{Label: l, From: d, To: d, Days: 1})
	}
	return out
}

// SplitConfig chooses a time-based split by counting weeks from the first
// week with data, or, with AsOf, back from the last week complete on that
// day (a moving window).
type SplitConfig struct {
	SkipWeeks  int `json:"skip_weeks"`  // weeks left out at the start
	TrainWeeks int `json:"train_weeks"` // training weeks (> 0)
	ValWeeks   int `json:"val_weeks"`   // validation weeks; default 1
	TestWeeks  int `json:"test_weeks"`  // test weeks after validation; 0: all the rest (with AsOf: 1)
	// AsOf (YYYY-MM-DD) moves the window: the weeks used are the last
	// TrainWeeks+ValWeeks+TestWeeks weeks with data that are complete on
	// AsOf (their Sunday is AsOf or earlier), so later data is never
	// read and a later AsOf trains on later weeks. SkipWeeks must be 0.
	AsOf string `json:"as_of,omitempty"`
	// HeldOutRows moves validation and test into the training weeks: the
	// window is TrainWeeks weeks, validation is the flows of validation
	// bucket (RowBucket) of its last ValWeeks weeks and test those of the
	// test bucket of its last TestWeeks weeks. No bundle ever trains on a
	// test-bucket flow, so models trained up to different days compare on
	// the same unseen flows, and a model learns from the newest complete
	// week instead of the one two weeks before (the loop's lag after a
	// change). Test windows are then named WeekLabel+HeldOutSuffix.
	HeldOutRows bool `json:"held_out_rows,omitempty"`
}

// HeldOutSuffix marks a test window of held-out rows ("2022-W10/held-out":
// the test-bucket flows of 2022-W10) as opposed to a whole week.
const HeldOutSuffix = "/held-out"

// The buckets of RowBucket: one in ten flows is test, one in ten
// validation (in held-out mode).
const (
	testBucket = 0
	valBucket  = 1
	rowBuckets = 10
)

// RowBucket assigns a flow to one of ten buckets by a hash of its id, the
// same in every run: bucket 0 is held-out test, bucket 1 validation.
func RowBucket(id int64) int {
	h := uint64(id) * 0x9e3779b97f4a7c15
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return int(h % rowBuckets)
}

// TestWindow names the window a split leaves for evaluation (its first
// test week), with HeldOutSuffix in held-out mode; "" without test weeks.
func (s Split) TestWindow(c SplitConfig) string {
	if len(s.Test) == 0 {
		return ""
	}
	if c.HeldOutRows {
		return s.Test[0].Label + HeldOutSuffix
	}
	return s.Test[0].Label
}

// splitWindow parses a test window name: its week label and whether only
// its held-out (test-bucket) flows are meant.
func splitWindow(w string) (label string, heldOut bool) {
	return strings.CutSuffix(w, HeldOutSuffix)
}

// weekEnd returns the last calendar day of the dataset week holding day:
// its Sunday, or 31 December for the days of week 53.
func weekEnd(day time.Time) time.Time {
	wd := int(day.Weekday()+6)%7 + 1 // Monday 1 … Sunday 7
	end := day.AddDate(0, 0, 7-wd)
	if end.Year() > day.Year() {
		end = time.Date(day.Year(), 12, 31, 0, 0, 0, 0, day.Location())
	}
	return end
}

// Split is a train → validation → test division of weeks.
type Split struct {
	Train []Week `json:"train"`
	Val   []Week `json:"val"`
	Test  []Week `json:"test"`
}

// ErrTooFewWeeks is returned by SplitWeeks when fewer weeks than the
// window needs are complete on the as-of day (a young lake: nothing to
// train yet).
var ErrTooFewWeeks = errors.New("classify: too few complete weeks")

// SplitWeeks divides weeks as c says. At least one test week must remain.
func SplitWeeks(weeks []Week, c SplitConfig) (Split, error) {
	if c.ValWeeks == 0 {
		c.ValWeeks = 1
	}
	if c.SkipWeeks < 0 || c.TrainWeeks <= 0 || c.ValWeeks < 0 || c.TestWeeks < 0 {
		return Split{}, fmt.Errorf("classify: split %+v: need skip ≥ 0, train > 0, val ≥ 0, test ≥ 0", c)
	}
	if c.AsOf != "" || c.HeldOutRows {
		c.TestWeeks = max(c.TestWeeks, 1)
	}
	// window is how many weeks the split spans after the skipped ones.
	window := c.TrainWeeks + c.ValWeeks + c.TestWeeks
	if c.HeldOutRows {
		if c.ValWeeks > c.TrainWeeks || c.TestWeeks > c.TrainWeeks {
			return Split{}, fmt.Errorf("classify: split %+v: with held-out rows, validation and test weeks are among the %d training weeks", c, c.TrainWeeks)
		}
		window = c.TrainWeeks
	}
	if c.AsOf != "" {
		asOf, err := time.Parse(cesnet.DayLayout, c.AsOf)
		if err != nil {
			return Split{}, fmt.Errorf("classify: split: as-of %q: %w", c.AsOf, err)
		}
		if c.SkipWeeks != 0 {
			return Split{}, errors.New("classify: split: give skip weeks or an as-of day, not both")
		}
		var complete []Week
		for _, w := range weeks {
			if !weekEnd(w.From).After(asOf) {
				complete = append(complete, w)
			}
		}
		if len(complete) < window {
			return Split{}, fmt.Errorf("%w: split %+v needs %d weeks complete on %s, the data has %d", ErrTooFewWeeks, c, window, c.AsOf, len(complete))
		}
		weeks = complete[len(complete)-window:]
	}
	if c.HeldOutRows {
		if len(weeks) < c.SkipWeeks+window {
			return Split{}, fmt.Errorf("classify: split %+v needs %d weeks, the data has %d", c, c.SkipWeeks+window, len(weeks))
		}
		weeks = weeks[c.SkipWeeks : c.SkipWeeks+window]
		n := len(weeks)
		return Split{Train: weeks, Val: weeks[n-c.ValWeeks:], Test: weeks[n-c.TestWeeks:]}, nil
	}
	need := c.SkipWeeks + c.TrainWeeks + c.ValWeeks + max(c.TestWeeks, 1)
	if len(weeks) < need {
		return Split{}, fmt.Errorf("classify: split %+v needs %d weeks, the data has %d", c, need, len(weeks))
	}
	i := c.SkipWeeks
	s := Split{Train: weeks[i : i+c.TrainWeeks]}
	i += c.TrainWeeks
	s.Val = weeks[i : i+c.ValWeeks]
	i += c.ValWeeks
	end := len(weeks)
	if c.TestWeeks > 0 {
		end = i + c.TestWeeks
	}
	s.Test = weeks[i:end]
	return s, nil
}

// trainKeep returns the filter of a split's training rows: in held-out
// mode no test-bucket flow, and no validation-bucket flow of the
// validation weeks; otherwise every row (nil).
func trainKeep(s Split, c SplitConfig) func(*tablerow.FlowFeatures) bool {
	if !c.HeldOutRows {
		return nil
	}
	from, to := span(s.Val)
	first, last := from.Format(cesnet.DayLayout), to.Format(cesnet.DayLayout)
	return func(r *tablerow.FlowFeatures) bool {
		switch RowBucket(r.ID) {
		case testBucket:
			return false
		case valBucket:
			return r.Day < first || r.Day > last
		}
		return true
	}
}

// span returns the first and last day of consecutive weeks.
func span(ws []Week) (time.Time, time.Time) {
	return ws[0].From, ws[len(ws)-1].To
}

// sampleWindow draws a reservoir sample from the days of weeks, keeping only
// rows for which keep returns true (nil: all), and counts the rows seen per
// app. With perApp > 0 each app keeps at most perApp rows (a reservoir per
// app: rare apps keep all their rows); then at most max rows are kept
// overall (max ≤ 0: no bound). The result is in the order the source yields
// rows; the same seed gives the same sample.
func sampleWindow(ctx context.Context, src Source, weeks []Week, max, perApp int, seed uint64, keep func(*tablerow.FlowFeatures) bool) ([]tablerow.FlowFeatures, map[string]int64, error) {
	if len(weeks) == 0 {
		return nil, nil, nil
	}
	from, to := span(weeks)
	rng := rand.New(rand.NewPCG(seed, 0xc1a5))
	type reservoir struct {
		rows  []tablerow.FlowFeatures
		order []int64 // position in the stream of each kept row
		n     int64
	}
	all := &reservoir{}
	apps := map[string]*reservoir{}
	size := max
	if perApp > 0 {
		size = perApp
	}
	seen := map[string]int64{}
	var pos int64
	err := src.Scan(ctx, from, to, func(r *tablerow.FlowFeatures) error {
		seen[r.App]++
		if keep != nil && !keep(r) {
			return nil
		}
		pos++
		res := all
		if perApp > 0 {
			if res = apps[r.App]; res == nil {
				res = &reservoir{}
				apps[r.App] = res
			}
		}
		res.n++
		switch {
		case size <= 0 || len(res.rows) < size:
			res.rows = append(res.rows, cloneRow(r, tablerow.FlowFeatures{}))
			res.order = append(res.order, pos)
		default:
			if j := rng.Int64N(res.n); j < int64(size) {
				res.rows[j] = cloneRow(r, res.rows[j])
				res.order[j] = pos
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if perApp > 0 {
		names := make([]string, 0, len(apps))
		for a := range apps {
			names = append(names, a)
		}
		slices.Sort(names)
		for _, a := range names {
			all.rows = append(all.rows, apps[a].rows...)
			all.order = append(all.order, apps[a].order...)
		}
	}
	idx := make([]int, len(all.rows))
	for i := range idx {
		idx[i] = i
	}
	if max > 0 && len(idx) > max {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:max]
	}
	slices.SortFunc(idx, func(a, b int) int { return int(all.order[a] - all.order[b]) })
	out := make([]tablerow.FlowFeatures, len(idx))
	for i, j := range idx {
		out[i] = all.rows[j]
	}
	return out, seen, nil
}

// cloneRow copies r into dst, reusing dst's slices.
func cloneRow(r *tablerow.FlowFeatures, dst tablerow.FlowFeatures) tablerow.FlowFeatures {
	stats, phist, ppi := dst.Stats, dst.PHist, dst.PPI
	dst = *r
	dst.Stats = append(stats[:0], r.Stats...)
	dst.PHist = append(phist[:0], r.PHist...)
	dst.PPI = append(ppi[:0], r.PPI...)
	return dst
}

// sampleWeeks draws a reservoir sample of at most max rows from each week.
func sampleWeeks(ctx context.Context, src Source, weeks []Week, max int, seed uint64) ([][]tablerow.FlowFeatures, error) {
	return sampleTestWeeks(ctx, src, weeks, max, seed, false)
}

// sampleTestWeeks is sampleWeeks of the weeks' held-out (test-bucket)
// flows only when heldOut.
func sampleTestWeeks(ctx context.Context, src Source, weeks []Week, max int, seed uint64, heldOut bool) ([][]tablerow.FlowFeatures, error) {
	var keep func(*tablerow.FlowFeatures) bool
	if heldOut {
		keep = func(r *tablerow.FlowFeatures) bool { return RowBucket(r.ID) == testBucket }
	}
	out := make([][]tablerow.FlowFeatures, len(weeks))
	for i, w := range weeks {
		rows, _, err := sampleWindow(ctx, src, []Week{w}, max, 0, seed+uint64(i)+1, keep)
		if err != nil {
			return nil, err
		}
		out[i] = rows
	}
	return out, nil
}
