// Package features is the Beam features job (the seed's Job C): the
// `flows` table at a pinned version → `flow_features`, one row per flow,
// partitioned by week. Every row is computed by featuredef.Features, the single
// definition the models use too; this package only runs it at scale.
//
// # Columns (the contract with the models)
//
//   - id, app, category (the labels), day, week; hour: hour of day of
//     TIME_FIRST (UTC), 0–23.
//   - stats: 28 float32, in the order of featuredef.FeatureStats:
//     log1p of BYTES, BYTES_REV, PACKETS, PACKETS_REV and DURATION (s);
//     PPI_LEN; PPI_ROUNDTRIPS; log1p(PPI_DURATION in s); the 16 TCP flags
//     (CWR, CWR_REV, ECE, ECE_REV, URG, URG_REV, ACK, ACK_REV, PSH, PSH_REV,
//     RST, RST_REV, SYN, SYN_REV, FIN, FIN_REV) and the 4 end reasons (idle,
//     active, end, other) as 0/1.
//   - phist: 32 float32: the PHIST_SRC_SIZES, PHIST_DST_SIZES,
//     PHIST_SRC_IPT and PHIST_DST_IPT histograms (8 bins each, in that order),
//     each divided by its sum (all zero when the histogram is empty).
//   - ppi: 120 float32, the packet sequence padded to 30 packets,
//     packet-major: ppi[4*i+c] is channel c of packet i with channels
//     inter-packet time (ms), direction (+1 client→server, −1 server→client),
//     payload size (bytes), push flag (0/1). Padding is all zero; direction 0
//     marks it. Values are raw (scaling is the model's job). ppi_len gives the
//     number of real packets.
//   - sni_domain: TLS_SNI reduced to its registered domain plus the first
//     label, "first|registered" ("api.spotify.com" → "api|spotify.com",
//     "spotify.com" → "|spotify.com"; not-a-domain names whole after the bar).
//   - sni_bucket, ja3_bucket: FNV-1a 32 of sni_domain and of TLS_JA3, modulo
//     the bucket count (SNIBuckets, default 4096; JA3Buckets, default 1024),
//     plus one; bucket 0 means no SNI / no JA3 (the hashing trick).
//   - dst_asn: DST_ASN as is.
//
// Pipeline shape:
//
//	Create(units: groups of flows data files of one week) ─► Reshuffle
//	  ─► featuresUnitFn: reads the rows, computes the features, writes
//	     Parquet data files itself (bounded buffer) ─► manifests
//	  ─► deltaio.Commit: replace-where of the selected weeks, one commit, txn
//
// The txn app id is derived from the flows table id and version, the weeks
// and the bucket counts, so re-running the same is a no-op.
package features

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
)

func init() {
	register.DoFn3x1[context.Context, string, func(string), error](&featuresUnitFn{})
	register.Emitter1[string]()
}

// Table is the output table's name under the lake root.
var Table = catalog.FlowFeatures.Name

// Config configures the features job.
type Config struct {
	Lake         string
	FlowsVersion int64     // flows version to read (negative: latest)
	From, To     time.Time // select the weeks of these days (zero: every week)
	Features     featuredef.FeatureConfig
	UnitRows     int64 // rows per work unit (default 250,000: a real day is ~8 units, so the last one leaves little tail)
	// FileRows and MaxRows bound the write buffers (deltaio.Buffer).
	FileRows, MaxRows int
	TargetFileSize    int64
	// Compression of the data files: "zstd" (the lakehouse default) or "snappy".
	Compression string
}

// unitFiles caps the data files of a work unit, so that a week of small
// files still spreads over the worker's slots.
const unitFiles = 300

// Plan is a planned features run.
type Plan struct {
	deltaio.WeekPlan
	Features featuredef.FeatureConfig
	FileRows int
	MaxRows  int
}

// NewPlan pins the flows version, selects the weeks and creates the output
// table if needed.
func NewPlan(ctx context.Context, cfg Config) (*Plan, error) {
	rows := cfg.UnitRows
	if rows <= 0 {
		rows = 250_000
	}
	fc := cfg.Features.WithDefaults()
	wp, err := deltaio.PlanWeekJob[tablerow.FlowFeatures](ctx, deltaio.WeekJob{
		Name: "features", Lake: cfg.Lake, FlowsVersion: cfg.FlowsVersion, From: cfg.From, To: cfg.To,
		Out:      deltaio.TableSpec{Lake: cfg.Lake, Name: Table, PartitionBy: []string{"week"}, TargetFileSize: cfg.TargetFileSize, Compression: cfg.Compression},
		UnitRows: rows, UnitFiles: unitFiles,
		RunKey: []string{fmt.Sprintf("sni=%d,ja3=%d", fc.SNIBuckets, fc.JA3Buckets)},
		Params: map[string]string{"telcotraffic.features": fmt.Sprintf("sni_buckets=%d ja3_buckets=%d", fc.SNIBuckets, fc.JA3Buckets)},
	})
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	return &Plan{WeekPlan: *wp, Features: fc, FileRows: cfg.FileRows, MaxRows: cfg.MaxRows}, nil
}

// Build adds the features job to s and returns the commit results
// (PCollection<string> of deltaio.CommitResult JSON).
func Build(s beam.Scope, p *Plan) (beam.PCollection, error) {
	s = s.Scope("features")
	manifests, err := Files(s, p)
	if err != nil {
		return beam.PCollection{}, err
	}
	expect := len(p.Units)
	if expect == 0 {
		expect = 1 // the empty manifest
	}
	return deltaio.Commit(s, []deltaio.CommitSpec{p.Spec}, expect, manifests), nil
}

// Files computes the features of the plan's units and writes their data
// files without committing; it returns one manifest per unit.
func Files(s beam.Scope, p *Plan) (beam.PCollection, error) {
	s = s.Scope("features.Files")
	if len(p.Units) == 0 {
		m, err := (&deltaio.Manifest{Unit: "empty"}).Encode()
		if err != nil {
			return beam.PCollection{}, err
		}
		return beam.Create(s, m), nil
	}
	units, err := deltaio.EncodeUnits(p.Units)
	if err != nil {
		return beam.PCollection{}, err
	}
	fn := &featuresUnitFn{Flows: p.Source.Table, PartCols: p.Source.PartCols, Weeks: p.Source.Weeks, Out: p.Spec.Table,
		SNIBuckets: p.Features.SNIBuckets, JA3Buckets: p.Features.JA3Buckets, FileRows: p.FileRows, MaxRows: p.MaxRows}
	return beam.ParDo(s, fn, beam.Reshuffle(s, beam.CreateList(s, units))), nil
}

// featuresUnitFn computes and writes the features of one unit.
type featuresUnitFn struct {
	Flows                  deltaio.TableSpec
	PartCols               []string
	Weeks                  []string
	Out                    deltaio.TableSpec
	SNIBuckets, JA3Buckets int
	FileRows, MaxRows      int

	flows, out *lakehouse.Table
}

func (f *featuresUnitFn) Setup(ctx context.Context) error {
	var err error
	if f.flows, err = f.Flows.Open(ctx); err != nil {
		return err
	}
	f.out, err = f.Out.Open(ctx)
	return err
}

func (f *featuresUnitFn) ProcessElement(ctx context.Context, elem string, emit func(string)) error {
	start := time.Now()
	z := featuredef.NewFeaturizer(featuredef.FeatureConfig{SNIBuckets: f.SNIBuckets, JA3Buckets: f.JA3Buckets})
	buf, err := deltaio.NewBuffer[tablerow.FlowFeatures](ctx, f.out, f.FileRows, f.MaxRows)
	if err != nil {
		return err
	}
	var in int64
	u, err := readFlows(ctx, f.flows, f.PartCols, f.Weeks, elem, func(r *cesnet.Flow, mem []float32) error {
		in++
		nStats, nHist := len(featuredef.FeatureStats), 4*cesnet.PHistBins
		out := tablerow.FlowFeatures{Stats: mem[0:0:nStats], PHist: mem[nStats : nStats : nStats+nHist], PPI: mem[nStats+nHist : nStats+nHist]}
		z.Features(r, &out)
		return buf.Add(ctx, out)
	})
	if err != nil {
		return fmt.Errorf("features: %w", err)
	}
	adds, err := buf.Close(ctx)
	if err != nil {
		return err
	}
	m := &deltaio.Manifest{Unit: u.ID}
	m.AddFiles(Table, adds)
	m.Count("rows_in", in)
	m.Count("rows_written", buf.Written())
	s, err := m.Encode()
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	log.Infof(ctx, "features: unit %s: %d files, %d rows, %.2fs, %.0f rows/s", u.ID, len(u.Files), in, secs, float64(in)/max(secs, 1e-9))
	emit(s)
	return nil
}
