//go:build linux

package main

import (
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"
)

// jobUsage is the process's resource use at a job's start.
type jobUsage struct{ cpu time.Duration }

// startUsage reads the process's CPU time and resets its peak resident set
// (writing 5 to /proc/self/clear_refs resets VmHWM), so that record sees
// the job's own peak; the heap the previous job left is returned to the
// system first, or it would count as this job's. (The reset also lowers
// the max RSS that wait4 reports at exit, e.g. GNU time's, to that of the
// last job: take the process's peak from the jobs' peak_mb.)
func startUsage() jobUsage {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return jobUsage{cpu: cpuTime()}
}

// record sets the job's CPU seconds and peak MB since startUsage.
func (u jobUsage) record(jr *jobResult) {
	jr.CPUSeconds = (cpuTime() - u.cpu).Seconds()
	jr.PeakMB = peakMB()
}

// cpuTime is the process's user+system CPU time so far (0 where getrusage
// fails).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakMB is VmHWM of /proc/self/status in MB (0 when unreadable).
func peakMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			kb, err := strconv.ParseFloat(string(f[0]), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
