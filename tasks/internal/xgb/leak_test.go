package xgb

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rssBytes reads the resident set size of this process from /proc.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestRepeatedTrainPredictNoLeak runs the whole life cycle many times — data,
// training with evals, prediction, save, load, prediction, close — and checks
// that every handle is freed each time and that resident memory stops growing.
func TestRepeatedTrainPredictNoLeak(t *testing.T) {
	checkNoLeak(t)
	xtr, ytr := blobs(40, 20000, 3, 10, 0.05, 1)
	xva, yva := blobs(41, 5000, 3, 10, 0.05, 1)
	params := Params{Objective: MultiSoftprob, NumClass: 3, MaxDepth: 4, NumThreads: 2}
	cycle := func() {
		base := LiveHandles()
		dtr, err := NewDMatrix(xtr, 0)
		if err != nil {
			t.Fatal(err)
		}
		dtr.SetLabels(ytr)
		dva, err := NewDMatrix(xva, 0)
		if err != nil {
			t.Fatal(err)
		}
		dva.SetLabels(yva)
		b, err := Train(context.Background(), params, dtr, TrainOptions{Rounds: 5, Evals: []Eval{{"v", dva}}, EarlyStoppingRounds: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Predict(xva, PredictOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.PredictDMatrix(dva, PredictOptions{}); err != nil {
			t.Fatal(err)
		}
		data, err := b.Save(UBJ)
		if err != nil {
			t.Fatal(err)
		}
		l, err := LoadBooster(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Predict(xva, PredictOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.FeatureImportance(TotalGain); err != nil {
			t.Fatal(err)
		}
		if got := LiveHandles() - base; got != 4 {
			t.Fatalf("%d handles live during the cycle, want 4", got)
		}
		for _, c := range []interface{ Close() error }{l, b, dva, dtr} {
			c.Close()
		}
		if got := LiveHandles() - base; got != 0 {
			t.Fatalf("%d handles live after Close, want 0", got)
		}
	}
	const warmup, cycles = 10, 40
	for range warmup {
		cycle()
	}
	runtime.GC()
	before := rssBytes(t)
	for range cycles {
		cycle()
	}
	runtime.GC()
	after := rssBytes(t)
	// The two matrices alone hold 1 MB of floats in libxgboost, plus the hist
	// index, caches and models: leaking them would add ≥ 40 MB. Allow
	// allocator and race detector noise.
	const slack = 24 << 20
	t.Logf("RSS %d MiB after warm-up, %d MiB after %d more cycles", before>>20, after>>20, cycles)
	if after-before > slack {
		t.Errorf("RSS grew by %d MiB over %d cycles, want ≤ %d MiB", (after-before)>>20, cycles, slack>>20)
	}
}

// TestCleanupFreesForgottenHandles checks the safety net: handles never closed
// are freed once the garbage collector finds their owners unreachable.
func TestCleanupFreesForgottenHandles(t *testing.T) {
	base := LiveHandles()
	func() {
		x, y := blobs(50, 200, 2, 3, 0, 3)
		d, err := NewDMatrix(x, 0)
		if err != nil {
			t.Fatal(err)
		}
		d.SetLabels(y)
		if _, err := Train(context.Background(), Params{NumThreads: 1}, d, TrainOptions{Rounds: 2}); err != nil {
			t.Fatal(err)
		}
	}()
	if got := LiveHandles() - base; got != 2 {
		t.Fatalf("%d handles live before GC, want 2", got)
	}
	// Cleanups run on a runtime goroutine after a GC: poll until they have.
	deadline := time.Now().Add(10 * time.Second)
	for LiveHandles() != base && time.Now().Before(deadline) {
		runtime.GC()
		runtime.Gosched()
	}
	if got := LiveHandles() - base; got != 0 {
		t.Errorf("%d handles still live after GC, want 0", got)
	}
}

// TestConcurrentPredict predicts from many goroutines on one Booster (run with
// -race) while others save and read it, then closes it while predictions may
// still be starting.
func TestConcurrentPredict(t *testing.T) {
	checkNoLeak(t)
	b, x, _ := trainSmall(t)
	want, err := b.Predict(x, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				var got Prediction
				var err error
				switch g % 4 {
				case 0, 1:
					got, err = b.Predict(x, PredictOptions{})
				case 2:
					_, err = b.Save(JSON)
					got = want
				case 3:
					_, err = b.FeatureImportance(Gain)
					got = want
				}
				if err != nil {
					errs <- err
					return
				}
				if !cmp.Equal(got, want) {
					errs <- &Error{Op: "concurrent predict", Msg: "prediction differs"}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Close racing with predictions: each prediction either completes or sees
	// ErrClosed, never a freed handle.
	var wg2 sync.WaitGroup
	for range 4 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for range 10 {
				if _, err := b.Predict(x, PredictOptions{}); err != nil && !strings.Contains(err.Error(), "closed") {
					t.Error(err)
				}
			}
		}()
	}
	b.Close()
	wg2.Wait()
}

// TestConcurrentTrainSharedData trains from two goroutines over the same two
// matrices in opposite roles (and one listed twice): the trainings take turns on
// the matrices and neither deadlocks nor races.
func TestConcurrentTrainSharedData(t *testing.T) {
	checkNoLeak(t)
	xa, ya := blobs(70, 1000, 3, 5, 0, 3)
	xb, yb := blobs(71, 1000, 3, 5, 0, 3)
	da, db := dmatrix(t, xa, ya, nil), dmatrix(t, xb, yb, nil)
	params := Params{Objective: MultiSoftprob, NumClass: 3, MaxDepth: 3, NumThreads: 1}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, pair := range [][2]*DMatrix{{da, db}, {db, da}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				m, err := Train(context.Background(), params, pair[0], TrainOptions{Rounds: 3,
					Evals: []Eval{{"a", pair[1]}, {"b", pair[1]}, {"self", pair[0]}}})
				if err != nil {
					errs <- err
					return
				}
				m.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
