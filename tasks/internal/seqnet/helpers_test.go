package seqnet

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// task says which inputs carry the class in synthetic data.
type task int

const (
	seqTask     task = iota // sizes of packets 1–3 and their direction pattern
	statsTask               // the first flow statistic
	overlapTask             // the first flow statistic, classes overlapping (1.5σ apart)
)

// dirPatterns are the directions of packets 1–3 per class in seqTask.
var dirPatterns = [][3]float32{{1, -1, 1}, {1, 1, -1}, {1, -1, -1}, {-1, 1, 1}}

// synth makes n flow_features rows of k ≤ 4 classes (class i with weight
// props[i], uniform when props is nil). Every flow has 3–30 packets of random
// sizes, directions and gaps; the class shows only where t says.
func synth(seed uint64, n, k int, t task, props []float64) ([]tablerow.FlowFeatures, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	rows := make([]tablerow.FlowFeatures, n)
	labels := make([]int, n)
	for i := range rows {
		c := rng.IntN(k)
		if props != nil {
			u, acc := rng.Float64(), 0.0
			for c = 0; c < k-1; c++ {
				if acc += props[c]; u < acc {
					break
				}
			}
		}
		labels[i] = c
		np := 3 + rng.IntN(28)
		ppi := make([]float32, rowPPI)
		for p := range np {
			pk := ppi[p*4 : p*4+4]
			pk[ChanIPT] = float32(rng.ExpFloat64() * 50)
			pk[ChanDir] = float32(1 - 2*rng.IntN(2))
			pk[ChanSize] = float32(40 + rng.IntN(1460))
			pk[ChanPush] = float32(rng.IntN(2))
			if t == seqTask && p < 3 {
				pk[ChanDir] = dirPatterns[c][p]
				pk[ChanSize] = float32(math.Round(100 + 350*float64(c) + 60*rng.NormFloat64()))
			}
		}
		stats := make([]float32, len(featuredef.FeatureStats))
		for j := range stats {
			stats[j] = float32(rng.NormFloat64()*3 + 5)
		}
		switch t {
		case statsTask:
			stats[0] = float32(2.5*float64(c) + 0.5*rng.NormFloat64())
		case overlapTask:
			stats[0] = float32(1.5*float64(c) + rng.NormFloat64())
		}
		phist := make([]float32, 32)
		for j := range phist {
			phist[j] = float32(rng.Float64() / 8)
		}
		rows[i] = tablerow.FlowFeatures{ID: int64(i), Stats: stats, PHist: phist, PPI: ppi, PPILen: int32(np)}
	}
	return rows, labels
}

// dataset builds a Dataset from synthetic rows.
func dataset(t testing.TB, rows []tablerow.FlowFeatures, labels []int) Dataset {
	t.Helper()
	b, err := FeaturesBatch(rows, true)
	if err != nil {
		t.Fatal(err)
	}
	return Dataset{Batch: b, Labels: labels}
}

// blankPPI returns d with every flow's PPI set to padding.
func blankPPI(d Dataset) Dataset {
	d.PPI = make([]float32, len(d.PPI))
	return d
}

var classNames = []string{"a", "b", "c", "d"}

// smallNet keeps tests fast.
var smallNet = Config{Filters: []int{16, 16}, Hidden: []int{32}}

func train(t testing.TB, cfg Config, tc TrainConfig, k int, tr, va Dataset) *Model {
	t.Helper()
	m, err := Train(context.Background(), cfg, tc, classNames[:k], tr, va)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func predict(t testing.TB, m *Model, b Batch) []float32 {
	t.Helper()
	p, err := m.Predict(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (d Dataset) slice(i, j int) Dataset {
	return Dataset{Batch: d.Batch.Slice(i, j), Labels: d.Labels[i:j]}
}
