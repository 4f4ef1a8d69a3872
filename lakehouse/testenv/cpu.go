package testenv

import (
	"syscall"
	"time"
)

// CPUTime is the process's user+system CPU time so far: benchmarks report
// CPU per row from two readings, which holds up on a loaded machine where
// wall time does not. It is 0 where getrusage fails.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
