package xgb

/*
#include <stdlib.h>
#include <xgboost/c_api.h>
*/
import "C"

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Matrix is a dense row-major float32 matrix: value (r, c) is Data[r*Cols+c].
// NaN marks a missing value.
type Matrix struct {
	Data       []float32
	Rows, Cols int
}

func (m Matrix) validate() error {
	if m.Rows < 0 || m.Cols <= 0 {
		return fmt.Errorf("matrix shape %d×%d: need rows ≥ 0 and cols > 0", m.Rows, m.Cols)
	}
	if len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("matrix shape %d×%d needs %d values, have %d", m.Rows, m.Cols, m.Rows*m.Cols, len(m.Data))
	}
	return nil
}

// DMatrix is XGBoost's training and evaluation data: a copy of a Matrix held by
// libxgboost, plus labels, weights and feature names.
//
// A DMatrix is safe for concurrent use; uses of one matrix run one at a time
// (libxgboost builds its histogram index lazily and without locking), so
// trainings that share a matrix take turns.
type DMatrix struct {
	mu      sync.Mutex
	id      uint64 // orders locking when Train takes several matrices
	handle  C.DMatrixHandle
	rows    int
	cols    int
	names   []string
	cleanup runtime.Cleanup
}

// NewDMatrix copies x into a new DMatrix; NaN values are missing. nthread bounds the
// threads used for the copy (0: all cores).
func NewDMatrix(x Matrix, nthread int) (*DMatrix, error) {
	if err := x.validate(); err != nil {
		return nil, fmt.Errorf("xgb: new dmatrix: %w", err)
	}
	var h C.DMatrixHandle
	var data *C.float
	if len(x.Data) > 0 {
		data = (*C.float)(unsafe.Pointer(&x.Data[0]))
	}
	nan := float32NaN()
	err := call("new dmatrix", func() C.int {
		return C.XGDMatrixCreateFromMat_omp(data, C.bst_ulong(x.Rows), C.bst_ulong(x.Cols), C.float(nan), &h, C.int(nthread))
	})
	runtime.KeepAlive(x.Data)
	if err != nil {
		return nil, err
	}
	liveHandles.Add(1)
	d := &DMatrix{handle: h, rows: x.Rows, cols: x.Cols, id: dmatrixIDs.Add(1)}
	d.cleanup = runtime.AddCleanup(d, freeDMatrix, unsafe.Pointer(h))
	return d, nil
}

func freeDMatrix(h unsafe.Pointer) {
	// A failing free cannot be reported from a cleanup; libxgboost only fails it
	// for a null handle, which never gets here.
	_ = call("free dmatrix", func() C.int { return C.XGDMatrixFree(C.DMatrixHandle(h)) })
	liveHandles.Add(-1)
}

// Close frees the matrix in libxgboost. It is idempotent; boosters trained on the
// matrix stay valid.
func (d *DMatrix) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.handle == nil {
		return nil
	}
	d.cleanup.Stop()
	freeDMatrix(unsafe.Pointer(d.handle))
	d.handle = nil
	return nil
}

// Rows returns the number of rows.
func (d *DMatrix) Rows() int { return d.rows }

// Cols returns the number of columns (features).
func (d *DMatrix) Cols() int { return d.cols }

// FeatureNames returns the names set by SetFeatureNames, or nil.
func (d *DMatrix) FeatureNames() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.names...)
}

// SetLabels sets one label per row: the class index (0..num_class-1) for
// classification, the target for regression.
func (d *DMatrix) SetLabels(labels []float32) error {
	return d.setFloatInfo("label", labels)
}

// SetWeights sets one non-negative weight per row.
func (d *DMatrix) SetWeights(weights []float32) error {
	return d.setFloatInfo("weight", weights)
}

func (d *DMatrix) setFloatInfo(field string, v []float32) error {
	op := "set " + field
	if len(v) != d.rows {
		return fmt.Errorf("xgb: %s: have %d values for %d rows", op, len(v), d.rows)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.handle == nil {
		return fmt.Errorf("xgb: %s: dmatrix %w", op, ErrClosed)
	}
	if d.rows == 0 {
		return nil
	}
	cfield := C.CString(field)
	defer C.free(unsafe.Pointer(cfield))
	err := call(op, func() C.int {
		return C.XGDMatrixSetFloatInfo(d.handle, cfield, (*C.float)(unsafe.Pointer(&v[0])), C.bst_ulong(len(v)))
	})
	runtime.KeepAlive(v)
	return err
}

// SetFeatureNames names the columns. A booster trained on the matrix takes the names
// over: they are saved with the model and label the feature importances.
func (d *DMatrix) SetFeatureNames(names []string) error {
	if len(names) != d.cols {
		return fmt.Errorf("xgb: set feature names: have %d names for %d columns", len(names), d.cols)
	}
	if err := checkFeatureNames(names); err != nil {
		return fmt.Errorf("xgb: set feature names: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.handle == nil {
		return fmt.Errorf("xgb: set feature names: dmatrix %w", ErrClosed)
	}
	if err := setStrFeatureInfo(call, "set feature names", names, func(field *C.char, arr **C.char, n C.bst_ulong) C.int {
		return C.XGDMatrixSetStrFeatureInfo(d.handle, field, arr, n)
	}); err != nil {
		return err
	}
	d.names = append([]string(nil), names...)
	return nil
}

// Labels returns the labels stored in libxgboost (nil if unset).
func (d *DMatrix) Labels() ([]float32, error) {
	return d.floatInfo("label")
}

// Weights returns the weights stored in libxgboost (nil if unset).
func (d *DMatrix) Weights() ([]float32, error) {
	return d.floatInfo("weight")
}

func (d *DMatrix) floatInfo(field string) ([]float32, error) {
	op := "get " + field
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.handle == nil {
		return nil, fmt.Errorf("xgb: %s: dmatrix %w", op, ErrClosed)
	}
	cfield := C.CString(field)
	defer C.free(unsafe.Pointer(cfield))
	var out []float32
	err := call(op, func() C.int {
		var n C.bst_ulong
		var p *C.float
		rc := C.XGDMatrixGetFloatInfo(d.handle, cfield, &n, &p)
		if rc == 0 && n > 0 {
			out = append([]float32(nil), unsafe.Slice((*float32)(unsafe.Pointer(p)), int(n))...)
		}
		return rc
	})
	return out, err
}

// setStrFeatureInfo sets feature names through caller (call, or a booster's home
// thread call).
func setStrFeatureInfo(caller func(string, func() C.int) error, op string, names []string, f func(field *C.char, arr **C.char, n C.bst_ulong) C.int) error {
	cfield := C.CString("feature_name")
	defer C.free(unsafe.Pointer(cfield))
	arr, free := cStrings(names)
	defer free()
	return caller(op, func() C.int { return f(cfield, arr, C.bst_ulong(len(names))) })
}

// lockHandle locks d and returns its handle; the caller must Unlock d.mu.
func (d *DMatrix) lockHandle(op string) (C.DMatrixHandle, error) {
	d.mu.Lock()
	if d.handle == nil {
		d.mu.Unlock()
		return nil, fmt.Errorf("xgb: %s: dmatrix %w", op, ErrClosed)
	}
	return d.handle, nil
}

var dmatrixIDs atomic.Uint64

// lockAll locks the distinct matrices of ds in creation order (so concurrent
// trainings over shared matrices cannot deadlock) and returns their handles.
func lockAll(op string, ds []*DMatrix) (map[*DMatrix]C.DMatrixHandle, func(), error) {
	uniq := slices.Clone(ds)
	slices.SortFunc(uniq, func(a, b *DMatrix) int { return cmp.Compare(a.id, b.id) })
	uniq = slices.Compact(uniq)
	handles := make(map[*DMatrix]C.DMatrixHandle, len(uniq))
	unlock := func() {
		for d := range handles {
			d.mu.Unlock()
		}
	}
	for _, d := range uniq {
		h, err := d.lockHandle(op)
		if err != nil {
			unlock()
			return nil, nil, err
		}
		handles[d] = h
	}
	return handles, unlock, nil
}

// checkFeatureNames applies the rules of Python's xgboost, which must read our
// models: names are unique, non-empty and free of '[', ']' and '<' (XGBoost's
// text dumps use them around split conditions).
func checkFeatureNames(names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, "[]<") {
			return fmt.Errorf("feature name %q: must be non-empty without '[', ']' or '<'", n)
		}
		if seen[n] {
			return fmt.Errorf("duplicate feature name %q", n)
		}
		seen[n] = true
	}
	return nil
}
