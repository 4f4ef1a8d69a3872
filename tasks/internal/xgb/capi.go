package xgb

/*
#cgo LDFLAGS: -lxgboost
#include <stdlib.h>
#include <xgboost/c_api.h>
*/
import "C"

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"
)

// ErrClosed is returned (wrapped) by every method of a DMatrix or Booster after Close.
var ErrClosed = errors.New("handle is closed")

// Error is a failure reported by libxgboost through XGBGetLastError.
type Error struct {
	Op  string // the operation of this package that failed, e.g. "train round 3"
	Msg string // XGBoost's message, without its stack trace
}

func (e *Error) Error() string { return "xgb: " + e.Op + ": " + e.Msg }

// liveHandles counts DMatrix and Booster handles allocated by libxgboost and not yet
// freed; see LiveHandles.
var liveHandles atomic.Int64

// LiveHandles returns how many DMatrix and Booster handles this package holds in
// libxgboost right now. Tests use it to prove that Close (or the GC safety net)
// frees everything.
func LiveHandles() int64 { return liveHandles.Load() }

// call runs f, which makes XGBoost C calls and copies their outputs, with the
// goroutine locked to its OS thread. libxgboost keeps the last error and most
// returned buffers (predictions, saved models, strings) in thread-local storage, so
// the call, the copy and XGBGetLastError must happen on one thread without another
// goroutine running XGBoost on it in between.
func call(op string, f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if f() == 0 {
		return nil
	}
	return &Error{Op: op, Msg: cleanMessage(C.GoString(C.XGBGetLastError()))}
}

// cleanMessage drops the stack trace libxgboost appends to its messages and the
// "[hh:mm:ss] file.cc:line: " prefix of dmlc's LOG(FATAL), keeping the sentence
// that tells what went wrong.
func cleanMessage(msg string) string {
	if i := strings.Index(msg, "Stack trace:"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSpace(msg)
	if strings.HasPrefix(msg, "[") {
		if i := strings.Index(msg, "] "); i > 0 {
			rest := msg[i+2:]
			// "/build/.../learner.cc:123: message"
			if j := strings.Index(rest, ": "); j > 0 && strings.Contains(rest[:j], ".cc:") {
				rest = rest[j+2:]
			}
			msg = rest
		}
	}
	if msg == "" {
		msg = "unknown error"
	}
	return msg
}

// cStrings copies ss into C memory; free releases it.
func cStrings(ss []string) (arr **C.char, free func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	p := C.malloc(C.size_t(len(ss)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	items := unsafe.Slice((**C.char)(p), len(ss))
	for i, s := range ss {
		items[i] = C.CString(s)
	}
	return (**C.char)(p), func() {
		for _, s := range items {
			C.free(unsafe.Pointer(s))
		}
		C.free(p)
	}
}

// goStrings copies n C strings starting at arr.
func goStrings(arr **C.char, n C.bst_ulong) []string {
	if n == 0 {
		return nil
	}
	items := unsafe.Slice(arr, int(n))
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = C.GoString(s)
	}
	return out
}

// Version returns the version of the linked libxgboost, e.g. "1.7.4".
func Version() string {
	var major, minor, patch C.int
	C.XGBoostVersion(&major, &minor, &patch)
	return strconv.Itoa(int(major)) + "." + strconv.Itoa(int(minor)) + "." + strconv.Itoa(int(patch))
}
