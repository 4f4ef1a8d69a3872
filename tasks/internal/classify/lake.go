package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// FeaturesTable is the folder of the flow_features table under a lake root.
var FeaturesTable = catalog.FlowFeatures.Name

// featuresParam is the commitInfo.operationParameters key in which the Beam
// features job records the bucket counts of the rows it wrote.
const featuresParam = "telcotraffic.features"

// featuresLookback bounds the commits read (newest first) to find
// featuresParam.
const featuresLookback = 8

// LakeSource reads the flow_features Delta table at one version, pinned when
// it is opened: every Days and Scan call reads that snapshot. Scan streams
// the rows file by file (memory bounded by one row group batch); its order is
// the table's file order, stable for a version but not the day order of a
// RawSource.
type LakeSource struct {
	uri      string
	table    *lakehouse.Table
	snap     *lakehouse.Snapshot
	features featuredef.FeatureConfig
	days     []time.Time // filled by the first Days call
}

// FeaturesTableURI returns the flow_features table URI for a lake root; a
// URI that already names the table is returned as is.
func FeaturesTableURI(lake string) string {
	lake = strings.TrimRight(lake, "/")
	if path.Base(lake) == FeaturesTable {
		return lake
	}
	return lake + "/" + FeaturesTable
}

// OpenLakeSource opens the flow_features table of lake (a lake root or the
// table URI itself) at version; a negative version means the latest one,
// resolved now and reported by Version.
func OpenLakeSource(ctx context.Context, lake string, version int64, opts storage.Options) (*LakeSource, error) {
	uri := FeaturesTableURI(lake)
	at := "latest version"
	if version >= 0 {
		at = fmt.Sprintf("version %d", version)
	}
	fail := func(err error) error {
		return fmt.Errorf("classify: %s table %s (%s): %w", FeaturesTable, uri, at, err)
	}
	store, err := storage.Open(ctx, uri, opts)
	if err != nil {
		return nil, fail(err)
	}
	t, err := lakehouse.Open(ctx, store, lakehouse.Options{})
	if err != nil {
		return nil, fail(err)
	}
	snap, err := catalog.Snapshot(ctx, t, version)
	if err != nil {
		return nil, fail(err)
	}
	s := &LakeSource{uri: store.URI(), table: t, snap: snap}
	if err := s.checkColumns(); err != nil {
		return nil, err
	}
	if s.features, err = s.featureConfig(ctx); err != nil {
		return nil, err
	}
	if err := s.checkBuckets(); err != nil {
		return nil, err
	}
	return s, nil
}

// where names the table and version in messages.
func (s *LakeSource) where() string { return fmt.Sprintf("%s@%d", s.uri, s.snap.Version) }

// checkColumns refuses a table that lacks columns of tablerow.FlowFeatures
// (reading would fill them with zeros).
func (s *LakeSource) checkColumns() error {
	st, err := s.snap.Schema()
	if err != nil {
		return fmt.Errorf("classify: %s: %w", s.where(), err)
	}
	have := map[string]bool{}
	for _, f := range st.Fields {
		have[f.Name] = true
	}
	var missing []string
	typ := reflect.TypeFor[tablerow.FlowFeatures]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("parquet"), ",")
		if name != "" && !have[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("classify: %s is not a %s table: no columns %s", s.where(), FeaturesTable, strings.Join(missing, ", "))
	}
	return nil
}

// featureConfig returns the bucket counts the features job recorded in the
// newest commits up to the snapshot's version, or the defaults when none of
// the last featuresLookback commits names them (a table written otherwise).
func (s *LakeSource) featureConfig(ctx context.Context) (featuredef.FeatureConfig, error) {
	for v := s.snap.Version; v >= 0 && v > s.snap.Version-featuresLookback; v-- {
		key := fmt.Sprintf("_delta_log/%020d.json", v)
		b, err := s.table.Store().Get(ctx, key)
		if errors.Is(err, storage.ErrNotExist) {
			break // replaced by a checkpoint and cleaned up
		}
		if err != nil {
			return featuredef.FeatureConfig{}, fmt.Errorf("classify: %s: %w", s.where(), err)
		}
		actions, err := lakehouse.DecodeCommit(key, v, b)
		if err != nil {
			return featuredef.FeatureConfig{}, fmt.Errorf("classify: %s: %w", s.where(), err)
		}
		for _, a := range actions {
			params, _ := a.CommitInfo["operationParameters"].(map[string]any)
			p, ok := params[featuresParam].(string)
			if !ok {
				continue
			}
			var c featuredef.FeatureConfig
			if _, err := fmt.Sscanf(p, "sni_buckets=%d ja3_buckets=%d", &c.SNIBuckets, &c.JA3Buckets); err != nil {
				return c, fmt.Errorf("classify: %s: commit %d: %s %q: %w", s.where(), v, featuresParam, p, err)
			}
			return c.WithDefaults(), nil
		}
	}
	return featuredef.FeatureConfig{}.WithDefaults(), nil
}

// checkBuckets refuses a table whose file statistics show hash buckets
// beyond the feature configuration (rows hashed with other bucket counts).
func (s *LakeSource) checkBuckets() error {
	for _, a := range s.snap.Files() {
		if a.Stats == "" {
			continue
		}
		var st struct {
			Max struct {
				SNI *int64 `json:"sni_bucket"`
				JA3 *int64 `json:"ja3_bucket"`
			} `json:"maxValues"`
		}
		if json.Unmarshal([]byte(a.Stats), &st) != nil {
			continue
		}
		if st.Max.SNI != nil && *st.Max.SNI > int64(s.features.SNIBuckets) || st.Max.JA3 != nil && *st.Max.JA3 > int64(s.features.JA3Buckets) {
			return fmt.Errorf("classify: %s: file %s holds hash buckets beyond sni_buckets=%d ja3_buckets=%d: its rows were computed with other bucket counts",
				s.where(), a.Path, s.features.SNIBuckets, s.features.JA3Buckets)
		}
	}
	return nil
}

// Days implements Source. Files whose statistics pin one day cost nothing;
// otherwise the day column alone is read.
func (s *LakeSource) Days(ctx context.Context) ([]time.Time, error) {
	if s.days != nil {
		return slices.Clone(s.days), nil
	}
	set := map[string]bool{}
	scan := false
	for _, a := range s.snap.Files() {
		if d, ok := oneDay(a); ok {
			set[d] = true
		} else {
			scan = true
		}
	}
	if scan {
		type dayRow struct {
			Day string `parquet:"day"`
		}
		clear(set)
		for r, err := range lakehouse.Rows[dayRow](ctx, s.table, s.snap) {
			if err != nil {
				return nil, fmt.Errorf("classify: %s: %w", s.where(), err)
			}
			set[r.Day] = true
		}
	}
	days := make([]time.Time, 0, len(set))
	for d := range set {
		t, err := time.Parse(cesnet.DayLayout, d)
		if err != nil {
			return nil, fmt.Errorf("classify: %s: day %q: %w", s.where(), d, err)
		}
		days = append(days, t)
	}
	slices.SortFunc(days, time.Time.Compare)
	s.days = days
	return slices.Clone(days), nil
}

// oneDay returns the day of a file whose statistics say all its rows have
// the same day.
func oneDay(a lakehouse.Add) (string, bool) {
	var st struct {
		N   int64                      `json:"numRecords"`
		Min map[string]json.RawMessage `json:"minValues"`
		Max map[string]json.RawMessage `json:"maxValues"`
		Nul map[string]int64           `json:"nullCount"`
	}
	if a.Stats == "" || json.Unmarshal([]byte(a.Stats), &st) != nil || st.Nul["day"] != 0 {
		return "", false
	}
	var lo, hi string
	if json.Unmarshal(st.Min["day"], &lo) != nil || json.Unmarshal(st.Max["day"], &hi) != nil {
		return "", false
	}
	return lo, lo != "" && lo == hi
}

// Scan implements Source. Only the files of the weeks with days in
// [from, to] whose day statistics overlap the range are read; rows of other
// days in them are skipped.
func (s *LakeSource) Scan(ctx context.Context, from, to time.Time, fn func(*tablerow.FlowFeatures) error) error {
	filters, ok, err := s.filters(ctx, from, to)
	if err != nil || !ok {
		return err
	}
	lo, hi := from.Format(cesnet.DayLayout), to.Format(cesnet.DayLayout)
	var row tablerow.FlowFeatures
	for r, err := range lakehouse.Rows[tablerow.FlowFeatures](ctx, s.table, s.snap, filters...) {
		if err != nil {
			return fmt.Errorf("classify: %s: %w", s.where(), err)
		}
		if r.Day < lo || r.Day > hi {
			continue
		}
		row = r
		if err := fn(&row); err != nil {
			return err
		}
	}
	return nil
}

// Files returns the table and those of its data files at the pinned
// version that may hold rows of days in [from, to] (the files Scan reads),
// for readers that decode the files themselves; they must skip rows of
// other days.
func (s *LakeSource) Files(ctx context.Context, from, to time.Time) (*lakehouse.Table, []lakehouse.Add, error) {
	filters, ok, err := s.filters(ctx, from, to)
	if err != nil || !ok {
		return s.table, nil, err
	}
	return s.table, s.snap.Files(filters...), nil
}

// filters pushes the day range down: the week partitions of the days with
// data in [from, to], and the day column's statistics. ok is false when no
// day of the range has data.
func (s *LakeSource) filters(ctx context.Context, from, to time.Time) (filters []lakehouse.Filter, ok bool, err error) {
	days, err := s.Days(ctx)
	if err != nil {
		return nil, false, err
	}
	var weeks []any
	for _, d := range days {
		if w := cesnet.WeekLabel(d); !d.Before(from) && !d.After(to) && !slices.Contains(weeks, any(w)) {
			weeks = append(weeks, w)
		}
	}
	if len(weeks) == 0 {
		return nil, false, nil
	}
	return []lakehouse.Filter{
		{Column: "week", Op: lakehouse.In, Values: weeks},
		{Column: "day", Op: lakehouse.Ge, Value: from.Format(cesnet.DayLayout)},
		{Column: "day", Op: lakehouse.Le, Value: to.Format(cesnet.DayLayout)},
	}, true, nil
}

// Version implements Source: the table URI (local tables: an absolute
// path), the version read and the bucket counts of the rows.
func (s *LakeSource) Version() DataVersion {
	v := s.snap.Version
	return DataVersion{Kind: "delta", URI: s.uri, Table: FeaturesTable, Version: &v, Features: s.features}
}
