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
// decompressed by extension) through cesnet.Decoder over every core (one
// goroutine decompresses and cuts the body into chunks of whole records,
// Workers decode them; see readDay), streams good rows straight into one
// open Parquet file per partition (flowSink: no row values buffered,
// bounded memory whatever the day's size) and buffers rejected rows per
// week in a deltaio.Buffer, and writes the Parquet data files itself. Only
// the manifest (the add actions) goes on. Every data file holds the rows
// of one day.
//
// The commit is one transaction per table carrying a txn whose app id is
// derived from the inputs (name, size and modification time of every day
// file) and the run settings, or from Config.RunID. It replaces the days it
// ingested (deltaio.ModeReplaceDays): re-ingesting a day replaces that day
// only, ingesting one more day adds only that day's files, an empty day file
// removes the day's rows, and re-running the same inputs is a no-op.
//
// Nothing is lost silently. Every raw row ends in flows or in rejects, or
// its whole day file is quarantined: a file whose header is unusable, whose
// compressed stream is corrupt or truncated, or whose row count (good rows
// plus rejects) differs from the total-saved of the stats-YYYYMMDD.json
// beside it (a missing stats file is reported, not an error) writes no
// rows, and its day keeps what the tables held before; the other days of
// the run are ingested. The commit of such a run carries the app id with
// deltaio.PartialSuffix, so rerunning the same inputs tries again instead
// of being "nothing to do", and the run fails naming the files (the
// pipeline's exit 1). A storage failure (the stored bytes cannot be read,
// or rows cannot be written) fails the job instead: Airflow retries it.
// Each file's DayReport (rows, rejects, stats check, quarantine reason,
// unknown columns) is kept in the flows commit (deltaio.ParamUnits). The
// run fingerprint includes the stats files, so a corrected stats file is
// a new run.
package parse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/pipelineresult"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"golang.org/x/sync/errgroup"
)

func init() {
	register.DoFn3x1[context.Context, string, func(string), error](&parseFileFn{})
	register.Emitter1[string]()
	deltaio.RegisterRowType[cesnet.Flow](FlowsTable)
	deltaio.RegisterRowType[cesnet.Reject](RejectsTable)
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
	CounterQuarantined = "quarantined_files"
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
	XZ cesnet.XZMode
	// Table options (zero: lakehouse defaults).
	TargetFileSize int64
	// Compression of the data files: "zstd" or "snappy"; empty takes
	// FlowsCompression for flows (rejects: the lakehouse default, zstd).
	Compression  string
	RowGroupRows int
}

// FlowsCompression is the default codec of the flows data files parse
// writes: snappy (lakehouse's fast encoder), not zstd. On a generated day
// (445 k rows) the files are 9 % larger (62.1 MB against 57.1) and the
// parse costs about a tenth less CPU; readers decompress snappy faster
// than zstd. (The compaction of a closed week rewrites the files with the
// table's codec, zstd by default.)
const FlowsCompression = "snappy"

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
	XZ       cesnet.XZMode
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
	flowsCodec := cfg.Compression
	if flowsCodec == "" {
		flowsCodec = FlowsCompression
	}
	p := &Plan{
		Flows:    deltaio.TableSpec{Lake: cfg.Lake, Name: FlowsTable, PartitionBy: parts, TargetFileSize: cfg.TargetFileSize, RowGroupRows: cfg.RowGroupRows, Compression: flowsCodec},
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
	flows, warn, err := deltaio.OpenOrCreate[cesnet.Flow](ctx, p.Flows)
	if err != nil {
		return nil, err
	}
	if warn != nil {
		p.Warnings = append(p.Warnings, warn.Error())
	}
	rejects, warn, err := deltaio.OpenOrCreate[cesnet.Reject](ctx, p.Rejects)
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
		f = from.Format(cesnet.DayLayout)
	}
	if !to.IsZero() {
		t = to.Format(cesnet.DayLayout)
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

// Stats checks of a DayReport.
const (
	CheckOK       = pipelineresult.CheckOK
	CheckNoStats  = pipelineresult.CheckNoStats
	CheckMismatch = pipelineresult.CheckMismatch
)

// DayReport is what parsing one day file found; the driver reads the
// reports of a run back from its flows commit (deltaio.ParamUnits). The
// type lives in the Beam-free pipelineresult, whose Result carries it.
type DayReport = pipelineresult.DayReport

// ReadReports decodes the reports a commit holds (deltaio.ParamUnits).
func ReadReports(params map[string]string) ([]DayReport, error) {
	s := params[deltaio.ParamUnits]
	if s == "" {
		return nil, nil
	}
	var out []DayReport
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("parse: %s: %w", deltaio.ParamUnits, err)
	}
	return out, nil
}

// parseFile streams one day file into the tables' buffers and returns its
// manifest. A failure of the file itself (bad header, corrupt or truncated
// stream, rows that disagree with the day's stats file) quarantines it:
// its data files are deleted and the manifest says why, so the other days
// are still ingested. A failure to read stored bytes fails the job.
func parseFile(ctx context.Context, in Input, flows, rejects *lakehouse.Table, f *parseFileFn) (*deltaio.Manifest, error) {
	start := time.Now()
	fb, err := newFlowSink(ctx, flows, f.FileRows, f.MaxRows)
	if err != nil {
		return nil, err
	}
	rb, err := deltaio.NewBuffer[cesnet.Reject](ctx, rejects, f.FileRows, f.MaxRows)
	if err != nil {
		return nil, err
	}
	rep := DayReport{File: in.Name(), Day: in.Day, StatsRows: -1, Check: CheckNoStats}
	d, fileErr := readDay(ctx, in, fb, rb, f)
	if d != nil {
		rep.Rows, rep.Rejects, rep.ExtraColumns = d.rows, d.rejects, d.extra
	}
	if fileErr == nil {
		st, ok, err := in.readStats(ctx)
		switch {
		case err != nil:
			fileErr = err
		case ok:
			rep.StatsRows, rep.Check = st.Global.TotalSaved, CheckOK
			if st.Global.TotalSaved != rep.Rows {
				rep.Check = CheckMismatch
				fileErr = fmt.Errorf("day %s: %d rows read, %s says %d", in.Day, rep.Rows, path.Base(in.Stats), st.Global.TotalSaved)
			}
		}
	}
	if fileErr != nil && (errors.Is(fileErr, errStorage) || ctx.Err() != nil) {
		return nil, fmt.Errorf("parse: %s: %w", in.Name(), fileErr)
	}
	m := &deltaio.Manifest{Unit: in.Key, Days: []string{in.Day}}
	if fileErr != nil {
		// Quarantine: nothing of the file is committed.
		rep.Quarantined = fileErr.Error()
		if err := errors.Join(fb.Abort(ctx), rb.Abort(ctx)); err != nil {
			return nil, err
		}
		m.Quarantined = rep.Quarantined
		m.Count(CounterQuarantined, 1)
		log.Warnf(ctx, "parse: %s: quarantined: %v", in.Name(), fileErr)
	} else {
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
		m.Count(CounterRows, d.rows)
		m.Count(CounterRowsWritten, d.rows-d.rejects)
		m.Count(CounterRejects, d.rejects)
		if d.empty {
			m.Count(CounterEmptyFiles, 1)
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	m.Report = b
	secs := time.Since(start).Seconds()
	log.Infof(ctx, "parse: %s: %d rows, %d rejects, %d flow files, %.2fs, %.0f rows/s",
		in.Key, rep.Rows, rep.Rejects, len(m.Adds[FlowsTable]), secs, float64(rep.Rows)/max(secs, 1e-9))
	return m, nil
}

// dayRead is what reading a day file found.
type dayRead struct {
	rows, rejects int64 // data rows read (good and rejected), rejects
	extra         []string
	empty         bool // a zero-byte file: a day without data
}

// Workers is the number of goroutines decoding one day file: every core.
func Workers() int { return runtime.GOMAXPROCS(0) }

// readDay decodes a day file into the sink and the rejects buffer, over
// every core: one goroutine decompresses it and cuts it into chunks of
// whole records (cesnet.Splitter), Workers goroutines decode chunks (each
// row keeps its file line number) and hand their rows to the sink a
// partition at a time, every few chunks (batcher).
// It returns what was read (nil when the file could not be opened) and the
// error that stopped it.
func readDay(ctx context.Context, in Input, fb *flowSink, rb *deltaio.Buffer[cesnet.Reject], f *parseFileFn) (*dayRead, error) {
	rc, src, err := in.open(ctx, cesnet.XZMode(f.XZ))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// A failure to read the stored bytes is storage's, not the file's.
	fail := func(err error) error {
		if src.failed.Load() && !errors.Is(err, errStorage) {
			return fmt.Errorf("%w: %w", errStorage, err)
		}
		return err
	}
	d := cesnet.NewDecoder(rc, in.Name())
	if day, err := time.Parse(cesnet.DayLayout, in.Day); err == nil {
		d.SetDay(day)
	}
	res := &dayRead{}
	if err := d.ReadHeader(); err != nil {
		if errors.Is(err, io.EOF) {
			res.empty = true
			return res, nil
		}
		return res, fail(err)
	}
	res.extra = d.Extra()
	sp := d.Split()
	n := Workers()
	g, gctx := errgroup.WithContext(ctx)
	chunks := make(chan cesnet.Chunk, n)
	// Chunk buffers circulate: reader → chunks → worker (held by its
	// batcher until the rows are written) → free. There are as many tokens
	// as free can hold, so giving one back never blocks, and more than the
	// workers can hold, so the reader never waits for one forever.
	free := make(chan []byte, n*(batchHeldChunks+2)+1)
	for range cap(free) {
		free <- nil
	}
	g.Go(func() error {
		defer close(chunks)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-gctx.Done():
				return gctx.Err()
			}
			c, err := sp.Next(buf)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fail(err)
			}
			select {
			case chunks <- c:
			case <-gctx.Done():
				return gctx.Err()
			}
			if c.Tail != nil {
				return nil
			}
		}
	})
	var mu sync.Mutex // guards rb
	var rows, rejects atomic.Int64
	for range n {
		g.Go(func() error {
			w := d.Worker()
			defer func() { rows.Add(w.Rows()); rejects.Add(w.Rejects()) }()
			var (
				row cesnet.Flow
				out = batcher{sink: fb, release: func(b []byte) { free <- b }}
				bad []cesnet.Reject
			)
			for c := range chunks {
				if err := gctx.Err(); err != nil {
					return err
				}
				w.Reset(c)
				bad = bad[:0]
				for {
					err := w.Read(&row)
					if err == nil {
						if f.WriteFlows {
							if err := out.add(gctx, &row); err != nil {
								return fmt.Errorf("%w: %w", errStorage, err) // a write failure is not the file's
							}
						}
						continue
					}
					if errors.Is(err, io.EOF) {
						break
					}
					var rej *cesnet.Reject
					if !errors.As(err, &rej) {
						return fail(err) // only a Tail chunk reads the stream itself
					}
					if f.WriteRejects {
						bad = append(bad, *rej)
					}
				}
				// The rows' strings point into the chunk: the batcher
				// gives its buffer back once they are written.
				if err := out.hold(gctx, c.Data); err != nil {
					return fmt.Errorf("%w: %w", errStorage, err)
				}
				if err := addRejects(gctx, &mu, rb, bad); err != nil {
					return fmt.Errorf("%w: %w", errStorage, err) // a write failure is not the file's
				}
			}
			if err := out.flush(gctx); err != nil {
				return fmt.Errorf("%w: %w", errStorage, err)
			}
			return nil
		})
	}
	err = g.Wait()
	res.rows, res.rejects = rows.Load(), rejects.Load()
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return res, err
}

// addRejects hands a chunk's rejects to their buffer.
func addRejects(ctx context.Context, mu *sync.Mutex, rb *deltaio.Buffer[cesnet.Reject], bad []cesnet.Reject) error {
	if len(bad) == 0 {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range bad {
		if err := rb.Add(ctx, bad[i]); err != nil {
			return err
		}
	}
	return nil
}
