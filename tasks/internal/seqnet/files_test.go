package seqnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

func TestSaveLoadSamePredictions(t *testing.T) {
	m := sharedModel(t)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	rows, _ := synth(71, 700, 4, seqTask, nil)
	d := dataset(t, rows, nil)
	if diff := cmp.Diff(predict(t, m, d.Batch), predict(t, loaded, d.Batch)); diff != "" {
		t.Errorf("predictions differ after save/load (-saved +loaded):\n%s", diff)
	}
	if diff := cmp.Diff(m.Classes(), loaded.Classes()); diff != "" {
		t.Errorf("classes (-saved +loaded):\n%s", diff)
	}
	if diff := cmp.Diff(m.Config(), loaded.Config()); diff != "" {
		t.Errorf("config (-saved +loaded):\n%s", diff)
	}
	if loaded.Info().BestEpoch != m.Info().BestEpoch || loaded.FlowDim() != m.FlowDim() {
		t.Errorf("training record not kept: %+v", loaded.Info())
	}
}

func TestReadRejectsDamagedFiles(t *testing.T) {
	m := sharedModel(t)
	var w, c bytes.Buffer
	if err := m.WriteWeights(&w); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteConfig(&c); err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(w.Bytes())
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name            string
		weights, config []byte
	}{
		{name: "weights changed", weights: flipped, config: c.Bytes()},
		{name: "truncated weights", weights: w.Bytes()[:w.Len()-4], config: c.Bytes()},
		{name: "config not JSON", weights: w.Bytes(), config: []byte("{")},
		{name: "other format", weights: w.Bytes(), config: bytes.Replace(c.Bytes(), []byte(formatVersion), []byte("x/9"), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Read(bytes.NewReader(tt.weights), bytes.NewReader(tt.config)); !errors.Is(err, ErrFormat) {
				t.Errorf("Read: %v, want ErrFormat", err)
			}
		})
	}
}

// pythonPath returns the Python peer with safetensors and numpy.
func pythonPath(t *testing.T) string {
	t.Helper()
	return testenv.Python(t)
}

const pyDump = `
import json, sys
from safetensors import safe_open
from safetensors.numpy import load_file
tensors = load_file(sys.argv[1])
with safe_open(sys.argv[1], framework="numpy") as f:
    meta = f.metadata()
out = {"metadata": meta, "tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": [float(x) for x in v.ravel()]} for k, v in tensors.items()}}
json.dump(out, sys.stdout)
`

const pyWrite = `
import sys
import numpy as np
from safetensors.numpy import save_file
save_file({"b": np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "a": np.array([1.5, -2.0], dtype=np.float32)}, sys.argv[1], metadata={"by": "python"})
`

func TestSafetensorsPythonInterop(t *testing.T) {
	py := pythonPath(t)
	m := sharedModel(t)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", pyDump, filepath.Join(dir, WeightsFile)).Output()
	if err != nil {
		t.Fatalf("python safetensors could not read our file: %v\n%s", err, stderr(err))
	}
	var got struct {
		Metadata map[string]string
		Tensors  map[string]struct {
			Dtype  string
			Shape  []int
			Values []float64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata["format"] != formatVersion {
		t.Errorf("metadata %v", got.Metadata)
	}
	if len(got.Tensors) != len(m.params) {
		t.Errorf("python sees %d tensors, model has %d", len(got.Tensors), len(m.params))
	}
	for _, p := range m.params {
		pt, ok := got.Tensors[p.name]
		if !ok || pt.Dtype != "float32" || !slices.Equal(pt.Shape, p.shape) {
			t.Errorf("tensor %s: python sees %v %v, want float32 %v", p.name, pt.Dtype, pt.Shape, p.shape)
			continue
		}
		for i, v := range pt.Values {
			if float32(v) != p.data[i] {
				t.Errorf("tensor %s[%d]: python %v, go %v", p.name, i, v, p.data[i])
				break
			}
		}
	}

	// And the other way: our reader takes Python's file.
	path := filepath.Join(dir, "py.safetensors")
	if out, err := exec.Command(py, "-c", pyWrite, path).CombinedOutput(); err != nil {
		t.Fatalf("python save_file: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, meta, err := readSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []param{
		{name: "a", shape: []int{2}, data: []float32{1.5, -2}},
		{name: "b", shape: []int{2, 3}, data: []float32{0, 0.25, 0.5, 0.75, 1, 1.25}},
	}
	if diff := cmp.Diff(want, ps, cmp.AllowUnexported(param{})); diff != "" {
		t.Errorf("tensors from python (-want +got):\n%s", diff)
	}
	if meta["by"] != "python" {
		t.Errorf("metadata %v", meta)
	}
}

func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

func TestSafetensorsRoundTrip(t *testing.T) {
	ps := []param{
		{name: "w", shape: []int{2, 2}, data: []float32{1, -2, float32(math.Inf(1)), 3.25}},
		{name: "empty", shape: []int{0}, data: []float32{}},
		{name: "s", shape: []int{1}, data: []float32{7}},
	}
	var buf bytes.Buffer
	if err := writeSafetensors(&buf, ps, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if hl := int(buf.Bytes()[0]); (8+hl)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+hl)
	}
	got, meta, err := readSafetensors(&buf)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ps, func(a, b param) int { return strings.Compare(a.name, b.name) })
	if diff := cmp.Diff(ps, got, cmp.AllowUnexported(param{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if meta["k"] != "v" {
		t.Errorf("metadata %v", meta)
	}
}

func FuzzReadSafetensors(f *testing.F) {
	var buf bytes.Buffer
	if err := writeSafetensors(&buf, []param{{name: "a", shape: []int{2}, data: []float32{1, 2}}}, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, _, err := readSafetensors(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever it accepts, it writes back and reads again the same.
		var out bytes.Buffer
		if err := writeSafetensors(&out, ps, nil); err != nil {
			t.Fatal(err)
		}
		again, _, err := readSafetensors(&out)
		if err != nil {
			t.Fatalf("re-reading our own encoding: %v", err)
		}
		if len(again) != len(ps) {
			t.Fatalf("%d tensors, then %d", len(ps), len(again))
		}
	})
}

func TestForwardMatchesGraph(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		flow bool
	}{
		{name: "shared model", flow: true},
		{name: "three convs, two dense, kernel 3, no flow vector", cfg: Config{Channels: []int{ChanSize, ChanDir}, Filters: []int{4, 6, 5}, Kernel: 3, Hidden: []int{7, 5}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, y := synth(81, 600, 4, seqTask, nil)
			d := dataset(t, rows, y)
			if !tt.flow {
				d.Flow, d.FlowDim = nil, 0
			}
			m := sharedModel(t)
			if tt.name != "shared model" {
				m = train(t, tt.cfg, TrainConfig{MaxEpochs: 1, BatchSize: 100, Seed: 2}, 4, d, Dataset{})
			}
			want, err := m.predictGraph(context.Background(), d.Batch)
			if err != nil {
				t.Fatal(err)
			}
			got := predict(t, m, d.Batch)
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 2e-5)); diff != "" {
				t.Errorf("plain-Go forward differs from the graph (-graph +go):\n%s", diff)
			}
		})
	}
}

func TestConcurrentPredict(t *testing.T) {
	m := sharedModel(t)
	rows, _ := synth(91, 600, 4, seqTask, nil)
	d := dataset(t, rows, nil)
	want := predict(t, m, d.Batch)
	var wg sync.WaitGroup
	got := make([][]float32, 4)
	for i := range got {
		wg.Go(func() { got[i], _ = m.Predict(context.Background(), d.Batch) })
	}
	wg.Wait()
	for i, g := range got {
		if !slices.Equal(g, want) {
			t.Errorf("goroutine %d: predictions differ from the serial ones", i)
		}
	}
}
