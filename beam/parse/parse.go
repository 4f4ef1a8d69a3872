// Package parse is the Beam parse job (the seed's Job A): raw
// CESNET-TLS-Year22 day files → the Delta tables `flows` (one row per flow,
// every column typed; partitioned by week and app unless configured
// otherwise) and `rejects` (file, line, column, reason, raw text;
// partitioned by week).
//
// Pipeline shape:
//
//	Create(day files) ─► Reshuffle ─► parseFileFn ─► manifests ─► deltaio.Commit
//
// parseFileFn streams one day file (local or s3://; xz, gz or plain CSV,
// decompressed by extension) through schema.Decoder, buffers good rows per
// partition and rejected rows per week in a deltaio.Buffer (bounded memory:
// a large file is never held whole), and writes the Parquet data files
// itself. Only the manifest (the add actions) goes on. Every data file holds
// the rows of one day.
//
// The commit is one transaction per table carrying a txn whose app id is
// derived from the inputs (name, size and modification time of every day
// file) and the run settings, or from Config.RunID. It replaces the days it
// ingested (deltaio.ModeReplaceDays): re-ingesting a day replaces that day
// only, ingesting one more day adds only that day's files, an empty day file
// removes the day's rows, and re-running the same inputs is a no-op.
package parse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/schema"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
)

func init() {
	register.DoFn3x1[context.Context, string, func(string), error](&parseFileFn{})
	register.Emitter1[string]()
	deltaio.RegisterRowType[schema.Flow](FlowsTable)
	deltaio.RegisterRowType[schema.Reject](RejectsTable)
}

// Table names under the lake root (lakehouse/catalog).
var (
	FlowsTable   = catalog.Flows.Name
	RejectsTable = catalog.Rejects.Name
)

// Counter names in manifests and commit results.
const (
	CounterFiles       = "files_in"
	CounterEmptyFiles  = "empty_files"
	CounterBytes       = "bytes_in"
	CounterRows        = "rows_in"
	CounterRowsWritten = "rows_written"
	CounterRejects     = "rejects"
)

// ErrNothingToDo is returned by NewPlan when there are no day files in the
// range, or every table already holds this run's commit.
var ErrNothingToDo = errors.New("parse: nothing to do")

// Config configures the parse job.
type Config struct {
	Input    string    // dataset root or glob of day files, local or s3://
	Lake     string    // lake root URI
	From, To time.Time // day range (zero: unbounded)
	// PartitionBy are the flows partition columns when the table is
	// created (default week, app).
	PartitionBy []string
	// RunID names the run for the txn app id; empty derives it from the
	// inputs' fingerprint.
	RunID string
	// FileRows and MaxRows bound the write buffers (deltaio.Buffer).
	FileRows, MaxRows int
	// XZ selects the xz decoder.
	XZ schema.XZMode
	// Table options (zero: lakehouse defaults).
	TargetFileSize int64
	// Compression of the data files: "zstd" (the lakehouse default) or "snappy".
	Compression  string
	RowGroupRows int
}

// Plan is a planned parse run.
type Plan struct {
	Inputs   []Input
	Days     []string
	Flows    deltaio.TableSpec
	Rejects  deltaio.TableSpec
	Specs    []deltaio.CommitSpec // tables that still need this run's commit
	Skipped  []deltaio.CommitSpec // tables that already hold it
	Warnings []string
	FileRows int
	MaxRows  int
	XZ       schema.XZMode
}

// NewPlan lists the inputs, creates the tables if needed and works out
// which commits the run still has to make. It returns ErrNothingToDo (with
// the plan) when there is nothing to ingest or nothing left to commit.
func NewPlan(ctx context.Context, cfg Config) (*Plan, error) {
	if cfg.Lake == "" {
		return nil, fmt.Errorf("parse: no lake URI")
	}
	parts := cfg.PartitionBy
	if parts == nil {
		parts = []string{"week", "app"}
	}
	p := &Plan{
		Flows:    deltaio.TableSpec{Lake: cfg.Lake, Name: FlowsTable, PartitionBy: parts, TargetFileSize: cfg.TargetFileSize, RowGroupRows: cfg.RowGroupRows, Compression: cfg.Compression},
		Rejects:  deltaio.TableSpec{Lake: cfg.Lake, Name: RejectsTable, PartitionBy: []string{"week"}, TargetFileSize: cfg.TargetFileSize, RowGroupRows: cfg.RowGroupRows, Compression: cfg.Compression},
		FileRows: cfg.FileRows, MaxRows: cfg.MaxRows, XZ: cfg.XZ,
	}
	inputs, err := ListInputs(ctx, cfg.Input, cfg.From, cfg.To)
	if err != nil {
		return nil, err
	}
	p.Inputs = inputs
	for _, in := range inputs {
		p.Days = append(p.Days, in.Day)
	}
	if len(inputs) == 0 {
		return p, fmt.Errorf("%w: no day files in %s for %s", ErrNothingToDo, cfg.Input, dayRangeText(cfg.From, cfg.To))
	}
	flows, warn, err := deltaio.OpenOrCreate[schema.Flow](ctx, p.Flows)
	if err != nil {
		return nil, err
	}
	if warn != nil {
		p.Warnings = append(p.Warnings, warn.Error())
	}
	rejects, warn, err := deltaio.OpenOrCreate[schema.Reject](ctx, p.Rejects)
	if err != nil {
		return nil, err
	}
	if warn != nil {
		p.Warnings = append(p.Warnings, warn.Error())
	}
	run := []string{"parse/v1", cfg.RunID}
	if cfg.RunID == "" {
		run = append(run, strings.Join(Fingerprint(inputs), ","))
	}
	for _, t := range []struct {
		spec deltaio.TableSpec
		tab  *lakehouse.Table
	}{{p.Flows, flows}, {p.Rejects, rejects}} {
		snap, err := t.tab.Snapshot(ctx)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		cs := deltaio.CommitSpec{
			Table: t.spec, Mode: deltaio.ModeReplaceDays, Days: p.Days, RowType: t.spec.Name,
			AppID: deltaio.AppID("parse."+t.spec.Name, append(run, strings.Join(snap.Metadata.PartitionColumns, ","))...),
		}
		if v, ok := snap.AppVersion(cs.AppID); ok && v >= deltaio.TxnVersion {
			p.Skipped = append(p.Skipped, cs)
			continue
		}
		p.Specs = append(p.Specs, cs)
	}
	if len(p.Specs) == 0 {
		return p, fmt.Errorf("%w: every table already holds run %s", ErrNothingToDo, p.Skipped[0].AppID)
	}
	return p, nil
}

func dayRangeText(from, to time.Time) string {
	f, t := "-", "-"
	if !from.IsZero() {
		f = from.Format(schema.DayLayout)
	}
	if !to.IsZero() {
		t = to.Format(schema.DayLayout)
	}
	return f + ".." + t
}

// Build adds the parse job to s: Files → manifests → commit. It returns
// the commit results (PCollection<string> of deltaio.CommitResult JSON).
func Build(s beam.Scope, p *Plan) (beam.PCollection, error) {
	s = s.Scope("parse")
	manifests, err := Files(s, p)
	if err != nil {
		return beam.PCollection{}, err
	}
	return deltaio.Commit(s, p.Specs, len(p.Inputs), manifests), nil
}

// Files parses the plan's day files and writes their data files without
// committing; it returns the manifests (PCollection<string>, one per file).
func Files(s beam.Scope, p *Plan) (beam.PCollection, error) {
	s = s.Scope("parse.Files")
	elems := make([]string, 0, len(p.Inputs))
	for _, in := range p.Inputs {
		b, err := json.Marshal(in)
		if err != nil {
			return beam.PCollection{}, fmt.Errorf("parse: %w", err)
		}
		elems = append(elems, string(b))
	}
	fn := &parseFileFn{Flows: p.Flows, Rejects: p.Rejects, FileRows: p.FileRows, MaxRows: p.MaxRows, XZ: int(p.XZ)}
	for _, cs := range p.Specs {
		switch cs.Table.Name {
		case FlowsTable:
			fn.WriteFlows = true
		case RejectsTable:
			fn.WriteRejects = true
		}
	}
	files := beam.Reshuffle(s, beam.CreateList(s, elems))
	return beam.ParDo(s, fn, files), nil
}

// parseFileFn parses one day file into data files of flows and rejects and
// emits its manifest.
type parseFileFn struct {
	Flows, Rejects           deltaio.TableSpec
	WriteFlows, WriteRejects bool
	FileRows, MaxRows        int
	XZ                       int

	flows, rejects *lakehouse.Table
}

func (f *parseFileFn) Setup(ctx context.Context) error {
	var err error
	if f.flows, err = f.Flows.Open(ctx); err != nil {
		return err
	}
	f.rejects, err = f.Rejects.Open(ctx)
	return err
}

func (f *parseFileFn) ProcessElement(ctx context.Context, elem string, emit func(string)) error {
	var in Input
	if err := json.Unmarshal([]byte(elem), &in); err != nil {
		return fmt.Errorf("parse: element: %w", err)
	}
	release, err := deltaio.AcquireSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	m, err := parseFile(ctx, in, f.flows, f.rejects, f)
	if err != nil {
		return err
	}
	s, err := m.Encode()
	if err != nil {
		return err
	}
	emit(s)
	return nil
}

// parseFile streams one day file into the tables' buffers and returns its
// manifest.
func parseFile(ctx context.Context, in Input, flows, rejects *lakehouse.Table, f *parseFileFn) (*deltaio.Manifest, error) {
	start := time.Now()
	fb, err := deltaio.NewBuffer[schema.Flow](ctx, flows, f.FileRows, f.MaxRows)
	if err != nil {
		return nil, err
	}
	rb, err := deltaio.NewBuffer[schema.Reject](ctx, rejects, f.FileRows, f.MaxRows)
	if err != nil {
		return nil, err
	}
	rc, err := in.open(ctx, schema.XZMode(f.XZ))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	d := schema.NewDecoder(rc, in.Name())
	if day, err := time.Parse(schema.DayLayout, in.Day); err == nil {
		d.SetDay(day)
	}
	var row schema.Flow
	var good, bad int64
	var own owner
	for {
		err := d.Read(&row)
		if d.Rows()%65536 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err == nil {
			good++
			if f.WriteFlows {
				if err := fb.Add(ctx, own.flow(&row)); err != nil {
					return nil, err
				}
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		var rej *schema.Reject
		if !errors.As(err, &rej) {
			return nil, fmt.Errorf("parse: %s: %w", in.Key, err)
		}
		bad++
		if f.WriteRejects {
			if err := rb.Add(ctx, *rej); err != nil {
				return nil, err
			}
		}
	}
	m := &deltaio.Manifest{Unit: in.Key}
	if f.WriteFlows {
		adds, err := fb.Close(ctx)
		if err != nil {
			return nil, err
		}
		m.AddFiles(FlowsTable, adds)
	}
	if f.WriteRejects {
		adds, err := rb.Close(ctx)
		if err != nil {
			return nil, err
		}
		m.AddFiles(RejectsTable, adds)
	}
	m.Count(CounterFiles, 1)
	m.Count(CounterBytes, in.Size)
	m.Count(CounterRows, d.Rows())
	m.Count(CounterRowsWritten, good)
	m.Count(CounterRejects, bad)
	if d.Empty() {
		m.Count(CounterEmptyFiles, 1)
	}
	secs := time.Since(start).Seconds()
	log.Infof(ctx, "parse: %s: %d rows, %d rejects, %d flow files, %.2fs, %.0f rows/s",
		in.Key, d.Rows(), bad, len(m.Adds[FlowsTable]), secs, float64(d.Rows())/max(secs, 1e-9))
	return m, nil
}
