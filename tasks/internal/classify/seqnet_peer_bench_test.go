package classify

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// BenchmarkSeqnetPeer compares the sequence members with PyTorch peers on
// the demo's data (`make bench-seqnet`): the demo's generated dataset
// (2022-02-07 on, SEQNET_FLOWS flows a day, default the demo's 5000, seed 1)
// sampled as the demo's first training run samples it (train W06–W08 at
// most 20,000 rows and 500 per app, validation W09 at most 8,000 rows,
// 10 % of the apps held out, no SNI; test W10 as evaluate draws it, 10,000
// rows, known classes only). Our seqnet and LSTM members train on all of
// those rows with their default settings (batch 256, Adam, a cosine
// schedule peaking at 1e-2) for the same SEQNET_EPOCHS (default 10, early
// stopping on the validation loss with patience 3) as the PyTorch CNN of the same
// architecture and the PyTorch LSTM (tasks/internal/seqnet/torchpeer/peer.py,
// given the exact rows); SEQNET_PEER_PYTHON is the torch venv's python
// (torchpeer/setup-venv.sh). One table: accuracy and macro-F1 on the test
// week (the same Go function scores every model's predictions), training CPU
// seconds and prediction rows per CPU second. SEQNET_LR and SEQNET_SCHEDULE
// override the members' step size and schedule (the peers follow);
// SEQNET_EXPORT keeps the exported rows in that folder; SEQNET_MODELS picks
// our models (default cnn,lstm,mmcesnet: seqnet's CNN, the LSTM and the
// narrowed mm-CESNET, each beside its peer) and SEQNET_PEER_MODELS the peers
// (default the same); SEQNET_MM_WIDTHS ("conv1,conv2,mlp,shared") sets
// mm-CESNET's widths (both sides).
func BenchmarkSeqnetPeer(b *testing.B) {
	ctx := context.Background()
	py := os.Getenv("SEQNET_PEER_PYTHON")
	if py == "" {
		b.Fatal("SEQNET_PEER_PYTHON is not set: run `make bench-seqnet` (it creates the torch venv)")
	}
	flows := envInt(b, "SEQNET_FLOWS", 5000)
	epochs := envInt(b, "SEQNET_EPOCHS", 10)
	threads := envInt(b, "SEQNET_TORCH_THREADS", 1)
	script, err := filepath.Abs("../seqnet/torchpeer/peer.py")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		raw := b.TempDir()
		t0 := time.Now()
		if _, err := synth.Generate(ctx, synth.Config{Out: raw, Start: time.Date(2022, 2, 7, 0, 0, 0, 0, time.UTC), Days: 35,
			FlowsPerDay: flows, Seed: 1, Compress: "none"}); err != nil {
			b.Fatal(err)
		}
		src, err := NewRawSource(raw, featuredef.FeatureConfig{})
		if err != nil {
			b.Fatal(err)
		}
		d := demoRows(b, src)
		b.Logf("generated and sampled in %.0fs: %d classes; train %s %d rows, validation %s %d rows, test %s %d rows; held out %d apps",
			time.Since(t0).Seconds(), len(d.classes), d.trainWeeks, d.train.Len(), d.valWeeks, d.val.Len(), d.testWeek, d.test.Len(), len(d.holdout))

		dir := os.Getenv("SEQNET_EXPORT")
		if dir == "" {
			dir = b.TempDir()
		} else if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for name, in := range map[string]*Inputs{"train": d.train, "val": d.val, "test": d.test} {
			if err := exportNet(dir, name, in); err != nil {
				b.Fatal(err)
			}
		}
		tc := seqnet.TrainConfig{MaxEpochs: epochs, Seed: 1, Schedule: os.Getenv("SEQNET_SCHEDULE")}
		if v := os.Getenv("SEQNET_LR"); v != "" {
			if tc.LearnRate, err = strconv.ParseFloat(v, 64); err != nil {
				b.Fatalf("SEQNET_LR: %v", err)
			}
		}
		type ours struct {
			name, peer string
			m          Member
		}
		var members []ours
		for _, name := range strings.Split(cmp.Or(os.Getenv("SEQNET_MODELS"), "cnn,lstm,mmcesnet"), ",") {
			switch name {
			case "cnn":
				members = append(members, ours{"ours seqnet (CNN)", name, &SeqnetMember{Config: SeqnetConfig{MaxRows: d.train.Len(), Train: tc}}})
			case "lstm":
				members = append(members, ours{"ours lstm", name, &LSTMMember{Config: LSTMConfig{MaxRows: d.train.Len(), Train: tc}}})
			case "mmcesnet":
				members = append(members, ours{"ours mm-CESNET", name, &MMMember{Config: MMConfig{MaxRows: d.train.Len(), Train: tc, Net: mmWidths(b)}}})
			default:
				b.Fatalf("SEQNET_MODELS: unknown model %q (want cnn, lstm, mmcesnet)", name)
			}
		}
		var results []peerResult
		var peerModels []string
		for _, mb := range members {
			peerModels = append(peerModels, mb.peer)
			c0, w0 := testenv.CPUTime().Seconds(), time.Now()
			if err := mb.m.Fit(ctx, d.train, d.val, os.Stderr); err != nil {
				b.Fatal(err)
			}
			r := peerResult{Model: mb.name, TrainCPU: testenv.CPUTime().Seconds() - c0, TrainWall: time.Since(w0).Seconds()}
			c1 := testenv.CPUTime().Seconds()
			p, err := mb.m.PredictProba(ctx, d.test)
			if err != nil {
				b.Fatal(err)
			}
			r.PredictRowsPerCPU = float64(d.test.Len()) / (testenv.CPUTime().Seconds() - c1)
			r.pred = argmaxRows(p, len(d.classes))
			switch m := mb.m.(type) {
			case *SeqnetMember:
				r.Epochs, r.BestEpoch = m.Model().Info().Epochs, m.Model().Info().BestEpoch
				cfg := m.Model().Config()
				r.Arch = fmt.Sprintf("conv %v k%d, dense %v", cfg.Filters, cfg.Kernel, cfg.Hidden)
				r.peerArgs = []string{"--filters", joinInts(cfg.Filters), "--kernel", strconv.Itoa(cfg.Kernel), "--hidden", joinInts(cfg.Hidden),
					"--lr", fmt.Sprint(m.Model().Info().LearnRate), "--schedule", orConstant(m.Model().Info().Schedule)}
			case *LSTMMember:
				r.Epochs, r.BestEpoch = m.Model().Info().Epochs, m.Model().Info().BestEpoch
				r.Arch = fmt.Sprintf("lstm %d units", m.Model().Config().Units)
				r.peerArgs = []string{"--units", strconv.Itoa(m.Model().Config().Units), "--lstm-lr", fmt.Sprint(m.Model().Info().LearnRate),
					"--lstm-schedule", orConstant(m.Model().Info().Schedule)}
			case *MMMember:
				info, cfg := m.Model().Info(), m.Model().Config()
				r.Epochs, r.BestEpoch = info.Epochs, info.BestEpoch
				r.Arch = fmt.Sprintf("mm-CESNET layout, conv %d/%d, mlp %d, shared %d", cfg.Conv1, cfg.Conv2, cfg.MLP, cfg.Shared)
				r.peerArgs = []string{"--mm-conv1", strconv.Itoa(cfg.Conv1), "--mm-conv2", strconv.Itoa(cfg.Conv2), "--mm-mlp", strconv.Itoa(cfg.MLP),
					"--mm-shared", strconv.Itoa(cfg.Shared), "--mm-lr", fmt.Sprint(info.LearnRate), "--mm-schedule", orConstant(info.Schedule)}
			}
			mb.m.Close()
			results = append(results, r)
		}
		// The peers: the same rows, epochs, batch, step, patience and class weights.
		args := []string{script, "--dir", dir, "--epochs", strconv.Itoa(epochs), "--threads", strconv.Itoa(threads),
			"--batch", "256", "--patience", "3", "--max-class-weight", "10", "--seed", "1"}
		for _, r := range results {
			args = append(args, r.peerArgs...)
		}
		args = append(args, "--models", cmp.Or(os.Getenv("SEQNET_PEER_MODELS"), strings.Join(peerModels, ",")))
		cmd := exec.CommandContext(ctx, py, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s: %v", py, err)
		}
		var peers []peerResult
		if err := json.Unmarshal(out, &peers); err != nil {
			b.Fatalf("peer output %q: %v", out, err)
		}
		for _, p := range peers {
			pred, err := readInts(filepath.Join(dir, p.PredFile), d.test.Len())
			if err != nil {
				b.Fatal(err)
			}
			p.pred = pred
			results = append(results, p)
		}
		k := len(d.classes)
		var tab strings.Builder
		fmt.Fprintf(&tab, "\nsequence nets on the demo's rows (no SNI; train %s, validate %s, test %s; %d classes):\n",
			d.trainWeeks, d.valWeeks, d.testWeek, k)
		fmt.Fprintf(&tab, "| model | architecture | train rows | epochs (best) | accuracy | macro-F1 | train CPU-s | predict rows/CPU-s |\n|---|---|---|---|---|---|---|---|\n")
		for _, r := range results {
			right := 0
			for i, y := range d.test.Labels {
				if r.pred[i] == y {
					right++
				}
			}
			r.Accuracy = float64(right) / float64(len(r.pred))
			r.MacroF1 = macroF1(r.pred, d.test.Labels, k)
			fmt.Fprintf(&tab, "| %s | %s | %d | %d (%d) | %.3f | %.3f | %.1f | %.0f |\n", r.Model, r.Arch, d.train.Len(), r.Epochs, r.BestEpoch,
				r.Accuracy, r.MacroF1, r.TrainCPU, r.PredictRowsPerCPU)
			b.ReportMetric(r.MacroF1, metricName(r.Model)+"_macroF1")
			b.ReportMetric(r.TrainCPU, metricName(r.Model)+"_train_cpu_s")
		}
		// To stderr as well: the benchmark log keeps only its first lines.
		fmt.Fprint(os.Stderr, tab.String())
		b.Log(tab.String())
	}
}

// peerResult is one model's line of BenchmarkSeqnetPeer; the peer script
// prints a JSON list of them.
type peerResult struct {
	Model             string  `json:"model"`
	Arch              string  `json:"arch"`
	Epochs            int     `json:"epochs"`
	BestEpoch         int     `json:"best_epoch"`
	TrainCPU          float64 `json:"train_cpu_s"`
	TrainWall         float64 `json:"train_wall_s"`
	PredictRowsPerCPU float64 `json:"predict_rows_per_cpu_s"`
	PredFile          string  `json:"pred_file"` // int32 test predictions
	Accuracy, MacroF1 float64
	pred              []int
	peerArgs          []string
}

// demoData is the sample of demoRows.
type demoData struct {
	classes, holdout               []string
	train, val, test               *Inputs
	trainWeeks, valWeeks, testWeek string
}

// demoRows samples src as the demo's first training run (train with
// --as-of the 2022-W10 Sunday, --train-weeks 3 --val-weeks 1 --test-weeks 1
// --max-train-rows 20000 --max-val-rows 8000, the train task's other
// defaults) and its evaluation (10,000 rows of the test week) do, keeping the
// test rows of the training classes. It follows Train's sampling step by
// step.
func demoRows(b *testing.B, src Source) demoData {
	ctx := context.Background()
	cfg := DefaultTrainConfig()
	cfg.Split = SplitConfig{TrainWeeks: 3, ValWeeks: 1, TestWeeks: 1, AsOf: "2022-03-13"}
	cfg.MaxTrainRows, cfg.MaxValRows = 20000, 8000
	cfg.FeatureSets = []FeatureSet{FeaturesNoSNI}
	cfg = cfg.withDefaults()
	days, err := src.Days(ctx)
	if err != nil {
		b.Fatal(err)
	}
	split, err := SplitWeeks(Weeks(days), cfg.Split)
	if err != nil {
		b.Fatal(err)
	}
	trainRows, seen, err := sampleWindow(ctx, src, split.Train, cfg.MaxTrainRows, cfg.MaxRowsPerApp, cfg.Seed, nil)
	if err != nil {
		b.Fatal(err)
	}
	count := map[string]int{}
	for i := range trainRows {
		count[trainRows[i].App]++
	}
	var eligible []string
	for app := range seen {
		if count[app] >= cfg.MinClassRows {
			eligible = append(eligible, app)
		}
	}
	slices.Sort(eligible)
	holdout := chooseHoldout(eligible, cfg.HoldoutFrac, cfg.Seed)
	var classes []string
	for _, a := range eligible {
		if !slices.Contains(holdout, a) {
			classes = append(classes, a)
		}
	}
	index := map[string]int{}
	for i, c := range classes {
		index[c] = i
	}
	trainRows, trainLabels := keepClasses(trainRows, index)
	valRows, _, err := sampleWindow(ctx, src, split.Val, cfg.MaxValRows, 0, cfg.Seed+1000, func(r *tablerow.FlowFeatures) bool {
		_, ok := index[r.App]
		return ok
	})
	if err != nil {
		b.Fatal(err)
	}
	valRows, valLabels := keepClasses(valRows, index)
	ev := DefaultEvalConfig()
	weekRows, err := sampleWeeks(ctx, src, split.Test, 10000, ev.Seed)
	if err != nil {
		b.Fatal(err)
	}
	testRows, testLabels := keepClasses(weekRows[0], index)
	for _, rows := range [][]tablerow.FlowFeatures{trainRows, valRows, testRows} {
		if err := checkRows(rows); err != nil {
			b.Fatal(err)
		}
	}
	tc := cfg.Transform
	tc.FeatureSet = FeaturesNoSNI
	tr, trainIn, err := FitTransforms(trainRows, trainLabels, classes, tc)
	if err != nil {
		b.Fatal(err)
	}
	return demoData{classes: classes, holdout: holdout, train: trainIn, val: tr.NewInputs(valRows, valLabels),
		test: tr.NewInputs(testRows, testLabels), trainWeeks: strings.Join(labels(split.Train), ","),
		valWeeks: strings.Join(labels(split.Val), ","), testWeek: split.Test[0].Label}
}

// exportNet writes in's net view for the peer script: <name>_ppi.f32
// (N × 30 × 4, packet-major), <name>_flow.f32 (N × F), <name>_y.i32 and
// <name>.json ({"rows", "flow_dim", "classes", "flow_names"}), little-endian.
func exportNet(dir, name string, in *Inputs) error {
	nb := in.Net()
	write := func(file string, n int, put func(buf []byte) []byte) error {
		buf := make([]byte, 0, 4*n)
		return os.WriteFile(filepath.Join(dir, file), put(buf), 0o644)
	}
	f32 := func(xs []float32) func([]byte) []byte {
		return func(buf []byte) []byte {
			for _, v := range xs {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			return buf
		}
	}
	if err := write(name+"_ppi.f32", len(nb.PPI), f32(nb.PPI)); err != nil {
		return err
	}
	if err := write(name+"_flow.f32", len(nb.Flow), f32(nb.Flow)); err != nil {
		return err
	}
	if err := write(name+"_y.i32", len(in.Labels), func(buf []byte) []byte {
		for _, y := range in.Labels {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(y)))
		}
		return buf
	}); err != nil {
		return err
	}
	meta, err := json.Marshal(map[string]any{"rows": in.Len(), "flow_dim": nb.FlowDim, "classes": in.t.Classes, "flow_names": in.t.NetNames()})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".json"), meta, 0o644)
}

// readInts reads n little-endian int32 values.
func readInts(path string, n int) ([]int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) != 4*n {
		return nil, fmt.Errorf("%s: %d bytes, want %d int32 predictions", path, len(raw), n)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = int(int32(binary.LittleEndian.Uint32(raw[4*i:])))
	}
	return out, nil
}

func envInt(b *testing.B, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func metricName(model string) string {
	return strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(model)
}

func orConstant(schedule string) string {
	if schedule == "" {
		return "constant"
	}
	return schedule
}

// mmWidths reads SEQNET_MM_WIDTHS ("conv1,conv2,mlp,shared"; unset: the
// defaults).
func mmWidths(b *testing.B) seqnet.MMConfig {
	v := os.Getenv("SEQNET_MM_WIDTHS")
	if v == "" {
		return seqnet.MMConfig{}
	}
	var w [4]int
	parts := strings.Split(v, ",")
	for i := range w {
		if len(parts) != len(w) {
			break
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil || n <= 0 {
			break
		}
		w[i] = n
	}
	if w[3] == 0 {
		b.Fatalf("SEQNET_MM_WIDTHS=%q: want four positive widths conv1,conv2,mlp,shared", v)
	}
	return seqnet.MMConfig{Conv1: w[0], Conv2: w[1], MLP: w[2], Shared: w[3]}
}
