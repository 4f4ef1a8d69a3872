package synth

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/ulikunitz/xz"
)

// Result summarises a run.
type Result struct {
	Out        string  `json:"out"`
	Manifest   string  `json:"manifest"`
	Start      string  `json:"start"`
	Days       int     `json:"days"`
	EmptyDays  int     `json:"empty_days"`
	Rows       int64   `json:"rows"`
	Files      int     `json:"files"`
	Bytes      int64   `json:"bytes"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_s"`
	Apps       int     `json:"apps"`
	Compress   string  `json:"compress"`
}

// ManifestFile is the ground-truth file written at the dataset root.
const ManifestFile = "manifest.json"

// DatasetStatsFile is the whole-dataset stats file at the root.
const DatasetStatsFile = "stats-dataset.json"

type dayResult struct {
	idx   int
	rows  int64
	bytes int64
	empty bool
	err   error
}

// Generate writes cfg.Days days from cfg.Start under cfg.Out: a flow file
// and a stats file per day, stats-week.json per week folder touched,
// stats-dataset.json and manifest.json at the root. Week and dataset stats
// are recomputed from every day stats file under cfg.Out, so generating a
// dataset in several ranges gives the same files as generating it at once.
func Generate(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	t0 := time.Now()
	w := getWorld()
	cal := newCalendar(cfg.Holidays, cfg.MissingDays)
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, cfg.Days)
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return Result{}, fmt.Errorf("synth: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	results := make(chan dayResult)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newFlowGen(w)
			for i := range jobs {
				day := cfg.Start.AddDate(0, 0, i)
				rows, n, empty, err := writeDay(ctx, cfg, cal, g, day)
				results <- dayResult{idx: i, rows: rows, bytes: n, empty: empty, err: err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range cfg.Days {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	res := Result{Out: cfg.Out, Start: cfg.Start.Format(dayLayout), Days: cfg.Days, Compress: cfg.Compress}
	var firstErr error
	done := 0
	lastReport := time.Now()
	for dr := range results {
		if dr.err != nil {
			if firstErr == nil {
				firstErr = dr.err
				cancel()
			}
			continue
		}
		done++
		res.Rows += dr.rows
		res.Bytes += dr.bytes
		res.Files++
		if dr.empty {
			res.EmptyDays++
		}
		if cfg.Progress != nil && (time.Since(lastReport) > time.Second || done == cfg.Days) {
			lastReport = time.Now()
			el := time.Since(t0).Seconds()
			fmt.Fprintf(cfg.Progress, "synth: %d/%d days, %d rows, %.0f rows/s, %.1f s\n",
				done, cfg.Days, res.Rows, float64(res.Rows)/el, el)
		}
	}
	if firstErr != nil {
		return res, firstErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := writeAggregateStats(cfg); err != nil {
		return res, err
	}
	m := buildManifest(cfg, w)
	res.Apps = m.ActiveApps
	res.Manifest = filepath.Join(cfg.Out, ManifestFile)
	if err := writeJSON(res.Manifest, m); err != nil {
		return res, err
	}
	res.Seconds = time.Since(t0).Seconds()
	if res.Seconds > 0 {
		res.RowsPerSec = math.Round(float64(res.Rows) / res.Seconds)
	}
	return res, nil
}

// daySeed derives the generator of a day from the run seed and the date.
func daySeed(seed int64, day time.Time) *rand.Rand {
	k := uint64(dayKey(day))
	return rand.New(rand.NewPCG(sub(uint64(seed), 1), sub(uint64(seed)^k*0x9e3779b97f4a7c15, 2)))
}

type event struct {
	t   int64 // unix µs
	app uint16
}

// planDay decides how many flows each app has on a day and when they start.
// It is separate from writing so tests can look at a day's plan.
func planDay(cfg Config, cal *calendar, r *rand.Rand, day time.Time, evs []event) ([]event, []int64) {
	w := getWorld()
	counts := make([]int64, len(w.apps))
	if cal.isMissing(day) {
		return evs[:0], counts
	}
	n := cal.volume(day, cfg.FlowsPerDay) * math.Exp(dayNoiseSigma*r.NormFloat64())
	off := cal.isOff(day)
	weights := make([]float64, len(w.apps))
	shifts := shiftsOf(cfg.Script, day)
	var sum float64
	for i, a := range w.apps {
		if !a.active {
			continue
		}
		wt := a.share
		for _, d := range cfg.Script.Declines {
			if d.App == a.name {
				wt = declineShare(d, day)
			}
		}
		if a.name == cfg.Script.NewService && day.Before(cfg.Script.NewServiceFrom) {
			wt = 0
		}
		if sh, ok := shifts[a]; ok {
			wt *= sh.shareFactor()
		}
		if off {
			wt *= offMix[a.fam]
		}
		wt *= math.Exp(0.15 * r.NormFloat64())
		weights[i] = wt
		sum += wt
	}
	evs = evs[:0]
	dayStart := dayKey(day) * 86400
	k := 0
	if off {
		k = 1
	}
	for i, a := range w.apps {
		if weights[i] == 0 {
			continue
		}
		lambda := n * weights[i] / sum
		c := int64(lambda)
		if r.Float64() < lambda-float64(c) {
			c++
		}
		counts[i] = c
		cum := &hourCum[a.fam][k]
		for range c {
			u := r.Float64()
			h := 0
			for h < 23 && u >= cum[h] {
				h++
			}
			us := r.Int64N(3600e6)
			local := dayStart + int64(h)*3600 + us/1e6
			evs = append(evs, event{t: localToUTC(local)*1e6 + us%1e6, app: uint16(i)})
		}
	}
	slices.SortFunc(evs, func(a, b event) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.app, b.app)
	})
	return evs, counts
}

// declineShare is the share (percent) of a declining app on a day.
func declineShare(d Decline, day time.Time) float64 {
	x := day.Sub(d.From).Hours() / d.To.Sub(d.From).Hours()
	x = math.Max(0, math.Min(1, x))
	return d.StartPct * math.Pow(d.EndPct/d.StartPct, x)
}

func dayStateOf(s *Script, day time.Time) dayState {
	return dayState{
		oldExporter: day.Before(s.ExporterUpdate),
		slowPeering: day.Before(s.PeeringChange),
		changed:     !day.Before(s.BehaviourChange),
		shifts:      shiftsOf(s, day),
	}
}

// writeDay generates one day into its flow file (via a temporary name) and
// its stats file.
func writeDay(ctx context.Context, cfg Config, cal *calendar, g *flowGen, day time.Time) (rows, size int64, empty bool, err error) {
	w := getWorld()
	path := filepath.Join(cfg.Out, filepath.FromSlash(cesnet.DayFile(day, ext(cfg.Compress))))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, 0, false, fmt.Errorf("synth: %w", err)
	}
	// A re-run with another compression replaces the day's old file: two
	// encodings of one day would be read twice.
	for _, c := range []string{"xz", "gz", "none"} {
		if c != cfg.Compress {
			old := filepath.Join(cfg.Out, filepath.FromSlash(cesnet.DayFile(day, ext(c))))
			if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, 0, false, fmt.Errorf("synth: %w", err)
			}
		}
	}
	r := daySeed(cfg.Seed, day)
	g.r = r
	evs, counts := planDay(cfg, cal, r, day, nil)
	stats := cesnet.Stats{Apps: map[string]int64{}}
	for i, c := range counts {
		if c > 0 {
			stats.Apps[w.apps[i].name] = c
		}
	}
	stats.Global.TotalSaved = int64(len(evs))
	tmp := path + ".tmp"
	if len(evs) == 0 {
		// A day without data: zero bytes, no header (as published).
		if err := os.WriteFile(tmp, nil, 0o644); err != nil {
			return 0, 0, true, fmt.Errorf("synth: %w", err)
		}
	} else if err := writeFlows(ctx, cfg, tmp, g, day, evs); err != nil {
		os.Remove(tmp)
		return 0, 0, false, err
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return 0, 0, false, fmt.Errorf("synth: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, 0, false, fmt.Errorf("synth: %w", err)
	}
	sp := filepath.Join(cfg.Out, filepath.FromSlash(cesnet.DayStatsFile(day)))
	if err := writeStats(sp, stats); err != nil {
		return 0, 0, false, err
	}
	return int64(len(evs)), st.Size(), len(evs) == 0, nil
}

func writeFlows(ctx context.Context, cfg Config, path string, g *flowGen, day time.Time, evs []event) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("synth: %w", cerr)
		}
	}()
	cw, err := compressor(ctx, cfg, f)
	if err != nil {
		return err
	}
	enc := cesnet.NewEncoder(cw)
	ds := dayStateOf(cfg.Script, day)
	w := getWorld()
	for i, e := range evs {
		if i%4096 == 0 && ctx.Err() != nil {
			cw.Close()
			return ctx.Err()
		}
		fl := g.flow(w.apps[e.app], ds, int64(i+1), e.t)
		if err := enc.Write(fl); err != nil {
			cw.Close()
			return fmt.Errorf("synth: %s: %w", path, err)
		}
	}
	if err := enc.Flush(); err != nil {
		cw.Close()
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	return nil
}

// compressor wraps the file with the configured compression. xz runs the
// xz program (liblzma, single-threaded so the bytes do not depend on the
// machine's cores) when it is on PATH, else the pure-Go encoder.
func compressor(ctx context.Context, cfg Config, f *os.File) (io.WriteCloser, error) {
	switch cfg.Compress {
	case "none":
		return nopCloser{f}, nil
	case "gz":
		level := cfg.GzipLevel
		if level == 0 {
			level = gzip.DefaultCompression
		}
		zw, err := gzip.NewWriterLevel(f, level)
		if err != nil {
			return nil, fmt.Errorf("synth: gzip: %w", err)
		}
		return zw, nil
	}
	if path, err := lookXZ(); err == nil {
		cmd := exec.CommandContext(ctx, path, "-z", "-c", "-T1", "-"+strconv.Itoa(cfg.XZLevel))
		cmd.Stdout = f
		stderr := &limitedBuffer{max: 4096}
		cmd.Stderr = stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("synth: xz: %w", err)
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("synth: xz: %w", err)
		}
		return &execWriter{cmd: cmd, in: in, stderr: stderr}, nil
	}
	zw, err := xz.WriterConfig{DictCap: 1 << 20}.NewWriter(f)
	if err != nil {
		return nil, fmt.Errorf("synth: xz: %w", err)
	}
	return zw, nil
}

// xzProgram is the xz binary used when on PATH (tests swap it to cover the
// pure-Go fallback).
var xzProgram = "xz"

func lookXZ() (string, error) { return exec.LookPath(xzProgram) }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type execWriter struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr *limitedBuffer
	closed bool
}

func (e *execWriter) Write(p []byte) (int, error) { return e.in.Write(p) }

func (e *execWriter) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.in.Close()
	if werr := e.cmd.Wait(); werr != nil {
		return fmt.Errorf("xz: %w: %s", werr, e.stderr.String())
	}
	return err
}

type limitedBuffer struct {
	b   []byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

func writeStats(path string, s cesnet.Stats) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := cesnet.WriteStats(bw, s); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("synth: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return os.Rename(tmp, path)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return os.Rename(tmp, path)
}

// writeAggregateStats rewrites stats-week.json of every week folder and
// stats-dataset.json from the day stats files under cfg.Out.
func writeAggregateStats(cfg Config) error {
	paths, err := filepath.Glob(filepath.Join(cfg.Out, "WEEK-*", "*", "stats-*.json"))
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	sort.Strings(paths)
	weeks := map[string]*cesnet.Stats{}
	total := cesnet.Stats{Apps: map[string]int64{}}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		s, err := cesnet.ReadStats(bufio.NewReader(f), p)
		f.Close()
		if err != nil {
			return err
		}
		wk := filepath.Dir(filepath.Dir(p))
		ws, ok := weeks[wk]
		if !ok {
			ws = &cesnet.Stats{Apps: map[string]int64{}}
			weeks[wk] = ws
		}
		for _, acc := range []*cesnet.Stats{ws, &total} {
			acc.Global.TotalSaved += s.Global.TotalSaved
			for a, n := range s.Apps {
				acc.Apps[a] += n
			}
		}
	}
	for wk, s := range weeks {
		if err := writeStats(filepath.Join(wk, "stats-week.json"), *s); err != nil {
			return err
		}
	}
	return writeStats(filepath.Join(cfg.Out, DatasetStatsFile), total)
}
