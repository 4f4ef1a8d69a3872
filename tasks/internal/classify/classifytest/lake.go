package classifytest

import (
	"context"
	"fmt"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// LakeOptions shape the table WriteLake writes.
type LakeOptions struct {
	Features featuredef.FeatureConfig // bucket counts (zero: defaults)
	// FilePerDay writes one data file per day; otherwise a week is one data
	// file holding all its days (as the features job's week units do).
	FilePerDay bool
	// Store reaches the lake (S3 options for an s3:// root).
	Store storage.Options
	// RowGroupRows is the rows per Parquet row group (0: the default).
	RowGroupRows int
}

// WriteLake computes the flow_features rows of the raw dataset under raw
// with featuredef.Features, and appends them to the flow_features table under
// the lake root the way the Beam features job lays it out: created at
// version 0, partitioned by week, one commit per week (so version i holds the
// first i weeks), each recording the bucket counts in its commitInfo. It
// returns the last version.
func WriteLake(ctx context.Context, lake, raw string, o LakeOptions) (int64, error) {
	cfg := o.Features.WithDefaults()
	files, err := cesnet.FindDayFiles(raw, time.Time{}, time.Time{})
	if err != nil {
		return 0, err
	}
	store, err := storage.Open(ctx, catalog.FlowFeatures.URI(lake), o.Store)
	if err != nil {
		return 0, err
	}
	t, err := lakehouse.Create[tablerow.FlowFeatures](ctx, store, lakehouse.CreateOptions{
		Name: catalog.FlowFeatures.Name, PartitionColumns: catalog.FlowFeatures.PartitionBy}, lakehouse.Options{RowGroupRows: o.RowGroupRows})
	if err != nil {
		return 0, err
	}
	var version int64
	commit := func(rows []tablerow.FlowFeatures) error {
		if len(rows) == 0 {
			return nil
		}
		w, err := lakehouse.NewWriter[tablerow.FlowFeatures](ctx, t)
		if err != nil {
			return err
		}
		var adds []lakehouse.Add
		for i := 0; i < len(rows); {
			j := i + 1
			for j < len(rows) && (!o.FilePerDay || rows[j].Day == rows[i].Day) {
				j++
			}
			a, err := w.WriteDataFile(ctx, map[string]string{"week": rows[i].Week}, rows[i:j])
			if err != nil {
				return err
			}
			adds, i = append(adds, a...), j
		}
		res, err := t.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeAppend, Adds: adds,
			OperationParameters: map[string]any{"telcotraffic.features": fmt.Sprintf("sni_buckets=%d ja3_buckets=%d", cfg.SNIBuckets, cfg.JA3Buckets)}})
		version = res.Version
		return err
	}
	var week []tablerow.FlowFeatures
	for _, fi := range files {
		if len(week) > 0 && week[0].Week != cesnet.WeekLabel(fi.Day) {
			if err := commit(week); err != nil {
				return 0, err
			}
			week = nil
		}
		_, err := cesnet.DecodeFile(ctx, fi.Path, cesnet.XZAuto, func(f *cesnet.Flow) error {
			var ff tablerow.FlowFeatures
			featuredef.Features(f, cfg, &ff)
			week = append(week, ff)
			return nil
		}, nil)
		if err != nil {
			return 0, err
		}
	}
	if err := commit(week); err != nil {
		return 0, err
	}
	return version, nil
}
