package forecast

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The statsforecast peer (testdata/statsforecast_peer.py) forecasts exactly
// our series from exactly our origins; its forecasts come back as Bands and
// are scored by the same Score as ours.

var peerModels = []string{"SeasonalNaive24", "SeasonalNaive168", "MSTL", "MSTL_log"}

func peerPython(tb testing.TB) string {
	tb.Helper()
	return testenv.Python(tb)
}

// writePeerInput writes series.csv and config.json for the peer.
func writePeerInput(dir string, p *Panel, origins []int, models []string) error {
	f, err := os.Create(filepath.Join(dir, "series.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"unique_id", "ds", "y"})
	for _, s := range p.Series {
		for i, v := range s.Values {
			y := ""
			if !math.IsNaN(v) {
				y = strconv.FormatFloat(v, 'g', -1, 64)
			}
			w.Write([]string{s.Key(), p.Time(i).Format(time.RFC3339), y})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cfg := map[string]any{"horizon": Horizon, "levels": []int{80, 95}, "models": models}
	var os_ []string
	for _, o := range origins {
		os_ = append(os_, p.Time(o).Format(time.RFC3339))
	}
	cfg["origins"] = os_
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

type peerResult struct {
	bands   map[string][][]Band // model → [origin][series]
	seconds map[string]float64
	version string
}

// runPeer runs the script and reads its forecasts back.
func runPeer(ctx context.Context, py, dir string, p *Panel, origins []int, progress io.Writer) (*peerResult, error) {
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "statsforecast_peer.py"), dir)
	cmd.Stderr = progress
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	if out, err := cmd.Output(); err != nil {
		return nil, fmt.Errorf("peer: %v: %s", err, out)
	}
	var timing struct {
		Versions map[string]string `json:"versions"`
		Seconds  map[string]float64
	}
	b, err := os.ReadFile(filepath.Join(dir, "peer_timing.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &timing); err != nil {
		return nil, err
	}
	res := &peerResult{bands: map[string][][]Band{}, seconds: timing.Seconds, version: timing.Versions["statsforecast"]}
	f, err := os.Open(filepath.Join(dir, "peer_forecasts.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	series := map[string]int{}
	for s := range p.Series {
		series[p.Series[s].Key()] = s
	}
	origin := map[string]int{}
	for k, o := range origins {
		origin[p.Time(o).Format(time.RFC3339)] = k
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for _, r := range rows[1:] {
		m := r[col["model"]]
		if res.bands[m] == nil {
			res.bands[m] = make([][]Band, len(origins))
			for k := range origins {
				res.bands[m][k] = make([]Band, len(p.Series))
				for s := range p.Series {
					b := Band{Point: nanSlice(Horizon)}
					for l := range Levels {
						b.Lower[l], b.Upper[l] = nanSlice(Horizon), nanSlice(Horizon)
					}
					res.bands[m][k][s] = b
				}
			}
		}
		k, ok1 := origin[r[col["origin"]]]
		s, ok2 := series[r[col["unique_id"]]]
		ds, err := time.Parse(time.RFC3339, r[col["ds"]])
		if !ok1 || !ok2 || err != nil {
			return nil, fmt.Errorf("peer: bad row %v", r)
		}
		h := p.Index(ds) - origins[k]
		if h < 0 || h >= Horizon {
			return nil, fmt.Errorf("peer: row %v outside the horizon", r)
		}
		b := res.bands[m][k][s]
		b.Point[h] = parseF(r[col["point"]])
		b.Lower[0][h], b.Upper[0][h] = parseF(r[col["lo80"]]), parseF(r[col["hi80"]])
		b.Lower[1][h], b.Upper[1][h] = parseF(r[col["lo95"]]), parseF(r[col["hi95"]])
	}
	return res, nil
}

func nanSlice(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

func parseF(s string) float64 {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return x
}

// peerReports scores the peer's models in peerModels order.
func (r *peerResult) reports(p *Panel, origins []int) []ModelReport {
	var out []ModelReport
	for _, m := range peerModels {
		if b, ok := r.bands[m]; ok {
			mr := Score(p, origins, b, "sf:"+m)
			mr.Seconds = r.seconds[m]
			out = append(out, mr)
		}
	}
	return out
}

// TestStatsforecastPeer runs the peer on a synthetic panel with known
// structure: the peer's SeasonalNaive168 must equal ours hour by hour (same
// series, same origins), and our model must beat MSTL on MASE.
func TestStatsforecastPeer(t *testing.T) {
	py := peerPython(t)
	cal := testCalendar(t)
	p := synthPanel(t, cal, synthSpec{start: "2022-01-03", days: 56, series: 3, sigma: 0.08, offFactor: 0.4,
		missing: []string{"2022-01-12"}, seed: 3})
	ctx := context.Background()
	models := []*Conformal{{Base: fastXGB()}, {Base: SeasonalNaive{168}}}
	rep, err := Backtest(ctx, p, cal, models, BacktestConfig{Weeks: 1, RetrainDays: 7, KeepBands: true})
	if err != nil {
		t.Fatal(err)
	}
	origins := BacktestOrigins(p, cal, 1)
	dir := t.TempDir()
	if err := writePeerInput(dir, p, origins, []string{"SeasonalNaive168", "MSTL"}); err != nil {
		t.Fatal(err)
	}
	peer, err := runPeer(ctx, py, dir, p, origins, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ours := rep.Model("snaive168").Bands
	theirs := peer.bands["SeasonalNaive168"]
	if theirs == nil {
		t.Fatal("peer wrote no SeasonalNaive168 forecasts")
	}
	for k := range origins {
		for s := range p.Series {
			for h := range Horizon {
				a, b := ours[k][s].Point[h], theirs[k][s].Point[h]
				if math.Abs(a-b) > 1e-5*math.Abs(a) {
					t.Fatalf("origin %s series %s h%d: our snaive168 %g, statsforecast %g", p.Time(origins[k]), p.Series[s].Key(), h+1, a, b)
				}
			}
		}
	}
	var buf bytes.Buffer
	WriteComparison(&buf, append(rep.Models, peer.reports(p, origins)...)...)
	t.Logf("statsforecast %s, backtest over %d origins:\n%s", peer.version, len(origins), buf.String())
	ourMASE := rep.Model("xgb").Groups["all"].MASE
	mstl := Score(p, origins, peer.bands["MSTL"], "mstl").Groups["all"].MASE
	if !(ourMASE <= mstl) {
		t.Errorf("MASE: ours %.3f > MSTL %.3f", ourMASE, mstl)
	}
}
