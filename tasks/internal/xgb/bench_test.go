package xgb

import (
	"context"
	"fmt"
	"testing"
)

// benchParams resemble the service classifier's: hist, softprob, depth 6, 2 threads.
var benchParams = Params{Objective: MultiSoftprob, NumClass: 20, MaxDepth: 6, Eta: 0.3, NumThreads: 2, Seed: 1}

// BenchmarkTrain measures training throughput: rows × rounds per second.
func BenchmarkTrain(b *testing.B) {
	const rows, rounds = 20000, 10
	x, y := blobs(60, rows, 20, 40, 0.05, 0.5)
	d := dmatrix(b, x, y, nil)
	b.ResetTimer()
	for b.Loop() {
		m, err := Train(context.Background(), benchParams, d, TrainOptions{Rounds: rounds})
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
	b.ReportMetric(float64(rows*rounds*b.N)/b.Elapsed().Seconds(), "row-rounds/s")
}

// BenchmarkPredict measures in-place prediction throughput of a 20-class model
// with 20 rounds (400 trees of depth ≤ 6) for several batch sizes; small batches
// show the per-call cost of the booster's home thread.
func BenchmarkPredict(b *testing.B) {
	x, y := blobs(61, 20000, 20, 40, 0.05, 0.5)
	d := dmatrix(b, x, y, nil)
	m, err := Train(context.Background(), benchParams, d, TrainOptions{Rounds: 20})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, batch := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			in := Matrix{Data: x.Data[:batch*x.Cols], Rows: batch, Cols: x.Cols}
			for b.Loop() {
				if _, err := m.Predict(in, PredictOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
