package deltaio

import (
	"context"
	"runtime"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Process-wide work slots. A runner may run many bundles of a stage at
// once in one worker process (prism splits a stage into as many bundles
// as it likes); each heavy unit (a day file, a group of data files) holds
// a Buffer of up to 2×MaxRows rows. Taking a slot per unit keeps a
// worker's memory flat whatever the input size: at most Slots units run
// at once, which is also all the CPU there is.
var (
	slotsOnce sync.Once
	slots     *semaphore.Weighted
)

// Slots is the number of heavy units a worker process runs at once:
// GOMAXPROCS.
func Slots() int { return runtime.GOMAXPROCS(0) }

// AcquireSlot waits for a work slot and returns its release function.
func AcquireSlot(ctx context.Context) (func(), error) {
	slotsOnce.Do(func() { slots = semaphore.NewWeighted(int64(Slots())) })
	if err := slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	return func() { slots.Release(1) }, nil
}
