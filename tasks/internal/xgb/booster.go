package xgb

/*
#include <stdlib.h>
#include <xgboost/c_api.h>
*/
import "C"

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Booster is a gradient-boosted tree model held by libxgboost.
//
// Every call on a Booster runs on an OS thread of its own (its home thread),
// one call at a time. libxgboost 1.7 keeps a booster's prediction cache and
// result buffers in thread-local storage keyed by the booster: calls from
// changing threads would train against an empty cache ("0 feature is supplied"),
// and freeing on another thread would leave the other threads' entries behind —
// a leak, and stale cached predictions for a later booster at the same address.
// Closing frees the booster on its home thread and ends the thread, which takes
// all of its thread-local state along.
//
// A Booster is safe for concurrent use: calls queue for the home thread, and each
// one uses up to NumThreads cores through OpenMP. To predict on more cores at
// once, load the model into several Boosters.
type Booster struct {
	mu      sync.Mutex
	home    *home // nil once closed
	cleanup runtime.Cleanup
}

// home is a booster handle and the locked OS thread that runs its calls.
type home struct {
	handle C.BoosterHandle
	calls  chan func()
}

func startHome() *home {
	hm := &home{calls: make(chan func())}
	go func() {
		// Never unlocked: when the channel closes the goroutine exits and the
		// runtime ends the thread, with libxgboost's thread-local state and the
		// thread's OpenMP team.
		runtime.LockOSThread()
		for f := range hm.calls {
			f()
		}
	}()
	return hm
}

// do runs f on the home thread and waits for it.
func (hm *home) do(f func()) {
	done := make(chan struct{})
	hm.calls <- func() {
		defer close(done)
		f()
	}
	<-done
}

// call is the package's call on the home thread.
func (hm *home) call(op string, f func() C.int) error {
	var err error
	hm.do(func() { err = call(op, f) })
	return err
}

// free frees the booster and ends the home thread.
func (hm *home) free() {
	hm.do(func() {
		// libxgboost fails a free only for a null handle, which never gets here.
		_ = call("free booster", func() C.int { return C.XGBoosterFree(hm.handle) })
		liveHandles.Add(-1)
	})
	close(hm.calls)
}

// newBooster creates a booster, on a new home thread, whose prediction cache
// covers dmats (may be empty).
func newBooster(op string, dmats []C.DMatrixHandle) (*Booster, error) {
	hm := startHome()
	var p *C.DMatrixHandle
	if len(dmats) > 0 {
		p = &dmats[0]
	}
	if err := hm.call(op, func() C.int { return C.XGBoosterCreate(p, C.bst_ulong(len(dmats)), &hm.handle) }); err != nil {
		close(hm.calls)
		return nil, err
	}
	liveHandles.Add(1)
	return adopt(hm), nil
}

// adopt wraps a home holding a live handle into a Booster with the GC safety net.
func adopt(hm *home) *Booster {
	b := &Booster{home: hm}
	b.cleanup = runtime.AddCleanup(b, (*home).free, hm)
	return b
}

// Close frees the model in libxgboost. It is idempotent and waits for running
// calls.
func (b *Booster) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.home == nil {
		return nil
	}
	b.cleanup.Stop()
	b.home.free()
	b.home = nil
	return nil
}

// lock takes b; the caller must Unlock b.mu.
func (b *Booster) lock(op string) (*home, error) {
	b.mu.Lock()
	if b.home == nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("xgb: %s: booster %w", op, ErrClosed)
	}
	return b.home, nil
}

func setParam(hm *home, op, key, value string) error {
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	err := hm.call(op, func() C.int { return C.XGBoosterSetParam(hm.handle, ck, cv) })
	if e, ok := err.(*Error); ok {
		e.Msg = key + "=" + strconv.Quote(value) + ": " + e.Msg
	}
	return err
}

// SetParam sets one XGBoost parameter, e.g. "nthread" on a loaded model.
func (b *Booster) SetParam(key, value string) error {
	hm, err := b.lock("set param")
	if err != nil {
		return err
	}
	defer b.mu.Unlock()
	return setParam(hm, "set param", key, value)
}

// PredictOptions select what Predict computes.
type PredictOptions struct {
	// IterationBegin and IterationEnd restrict prediction to boosting rounds
	// [IterationBegin, IterationEnd); IterationEnd 0 means through the last round.
	IterationBegin, IterationEnd int
	// Margin returns raw scores before the objective's transformation (softmax,
	// sigmoid).
	Margin bool
}

func (o PredictOptions) config(inplace bool) string {
	typ := 0
	if o.Margin {
		typ = 1
	}
	s := fmt.Sprintf(`{"type":%d,"training":false,"iteration_begin":%d,"iteration_end":%d,"strict_shape":false`,
		typ, o.IterationBegin, o.IterationEnd)
	if inplace {
		s += `,"missing":NaN,"cache_id":0`
	}
	return s + "}"
}

// Prediction is a Rows × Cols row-major matrix of predictions: class
// probabilities for multi:softprob (Cols = number of classes), one value per row
// otherwise.
type Prediction struct {
	Values     []float32
	Rows, Cols int
}

// Row returns the predictions of row i.
func (p Prediction) Row(i int) []float32 { return p.Values[i*p.Cols : (i+1)*p.Cols] }

// ArgMax returns the column of the largest value in each row: the predicted class
// for multi:softprob.
func (p Prediction) ArgMax() []int {
	out := make([]int, p.Rows)
	for i := range out {
		row := p.Row(i)
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out
}

// Predict predicts the rows of x (NaN = missing) without building a DMatrix
// (XGBoost's in-place prediction). Safe for concurrent use.
func (b *Booster) Predict(x Matrix, opts PredictOptions) (Prediction, error) {
	const op = "predict"
	if err := x.validate(); err != nil {
		return Prediction{}, fmt.Errorf("xgb: %s: %w", op, err)
	}
	if opts.IterationBegin < 0 || opts.IterationEnd < 0 {
		return Prediction{}, fmt.Errorf("xgb: %s: negative iteration range [%d, %d)", op, opts.IterationBegin, opts.IterationEnd)
	}
	hm, err := b.lock(op)
	if err != nil {
		return Prediction{}, err
	}
	defer b.mu.Unlock()
	if x.Rows == 0 {
		return Prediction{}, nil
	}
	// The array interface passes the address as a number, which cgo's pointer
	// checks cannot see: pin the data for the duration of the call.
	var pin runtime.Pinner
	pin.Pin(&x.Data[0])
	defer pin.Unpin()
	iface := fmt.Sprintf(`{"data":[%d,true],"shape":[%d,%d],"typestr":"<f4","version":3}`,
		uintptr(unsafe.Pointer(&x.Data[0])), x.Rows, x.Cols)
	civ, ccfg := C.CString(iface), C.CString(opts.config(true))
	defer C.free(unsafe.Pointer(civ))
	defer C.free(unsafe.Pointer(ccfg))
	var out Prediction
	err = hm.call(op, func() C.int {
		var shape *C.bst_ulong
		var dim C.bst_ulong
		var res *C.float
		rc := C.XGBoosterPredictFromDense(hm.handle, civ, ccfg, nil, &shape, &dim, &res)
		if rc == 0 {
			out = copyPrediction(shape, dim, res)
		}
		return rc
	})
	runtime.KeepAlive(x.Data)
	return out, err
}

// PredictDMatrix predicts the rows of d. Safe for concurrent use.
func (b *Booster) PredictDMatrix(d *DMatrix, opts PredictOptions) (Prediction, error) {
	const op = "predict dmatrix"
	hm, err := b.lock(op)
	if err != nil {
		return Prediction{}, err
	}
	defer b.mu.Unlock()
	dh, err := d.lockHandle(op)
	if err != nil {
		return Prediction{}, err
	}
	defer d.mu.Unlock()
	ccfg := C.CString(opts.config(false))
	defer C.free(unsafe.Pointer(ccfg))
	var out Prediction
	err = hm.call(op, func() C.int {
		var shape *C.bst_ulong
		var dim C.bst_ulong
		var res *C.float
		rc := C.XGBoosterPredictFromDMatrix(hm.handle, dh, ccfg, &shape, &dim, &res)
		if rc == 0 {
			out = copyPrediction(shape, dim, res)
		}
		return rc
	})
	return out, err
}

func copyPrediction(shape *C.bst_ulong, dim C.bst_ulong, res *C.float) Prediction {
	dims := unsafe.Slice(shape, int(dim))
	p := Prediction{Rows: int(dims[0]), Cols: 1}
	for _, d := range dims[1:] {
		p.Cols *= int(d)
	}
	if n := p.Rows * p.Cols; n > 0 {
		p.Values = append([]float32(nil), unsafe.Slice((*float32)(unsafe.Pointer(res)), n)...)
	}
	return p
}

// Format is a model serialisation format of XGBoost.
type Format string

// Model formats: both hold the trees, objective and feature names, and load in
// Python xgboost.Booster(model_file=...).
const (
	JSON Format = "json" // text
	UBJ  Format = "ubj"  // Universal Binary JSON: smaller and faster to load
)

// Save serialises the model (not the training configuration) in format f.
func (b *Booster) Save(f Format) ([]byte, error) {
	op := "save " + string(f)
	if f != JSON && f != UBJ {
		return nil, fmt.Errorf("xgb: %s: unknown format", op)
	}
	hm, err := b.lock(op)
	if err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	ccfg := C.CString(`{"format":"` + string(f) + `"}`)
	defer C.free(unsafe.Pointer(ccfg))
	var out []byte
	err = hm.call(op, func() C.int {
		var n C.bst_ulong
		var p *C.char
		rc := C.XGBoosterSaveModelToBuffer(hm.handle, ccfg, &n, &p)
		if rc == 0 {
			out = C.GoBytes(unsafe.Pointer(p), C.int(n))
		}
		return rc
	})
	return out, err
}

// LoadBooster reads a model saved by Save or by any XGBoost binding (JSON or UBJ,
// detected from the content).
func LoadBooster(model []byte) (*Booster, error) {
	const op = "load model"
	if len(model) == 0 {
		return nil, fmt.Errorf("xgb: %s: empty model", op)
	}
	b, err := newBooster(op, nil)
	if err != nil {
		return nil, err
	}
	cbuf := C.CBytes(model)
	defer C.free(cbuf)
	if err := b.home.call(op, func() C.int {
		return C.XGBoosterLoadModelFromBuffer(b.home.handle, cbuf, C.bst_ulong(len(model)))
	}); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// FormatOf returns the format a model file's extension names: .json or .ubj.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return JSON, nil
	case ".ubj":
		return UBJ, nil
	}
	return "", fmt.Errorf("xgb: model file %s: extension must be .json or .ubj", path)
}

// SaveFile writes the model to path in the format its extension names (.json or
// .ubj), atomically: a reader sees the old file or the whole new one.
func (b *Booster) SaveFile(path string) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	data, err := b.Save(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".xgb-*")
	if err != nil {
		return fmt.Errorf("xgb: save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("xgb: save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("xgb: save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("xgb: save %s: %w", path, err)
	}
	return nil
}

// LoadBoosterFile reads a model file written by SaveFile or another XGBoost binding.
func LoadBoosterFile(path string) (*Booster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("xgb: load model: %w", err)
	}
	b, err := LoadBooster(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return b, nil
}

// Config returns XGBoost's JSON description of the booster's configuration: all
// learner, objective and tree parameters in force, for the model bundle.
func (b *Booster) Config() ([]byte, error) {
	const op = "save config"
	hm, err := b.lock(op)
	if err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	var out []byte
	err = hm.call(op, func() C.int {
		var n C.bst_ulong
		var p *C.char
		rc := C.XGBoosterSaveJsonConfig(hm.handle, &n, &p)
		if rc == 0 {
			out = C.GoBytes(unsafe.Pointer(p), C.int(n))
		}
		return rc
	})
	return out, err
}

// BoostedRounds returns the number of boosting rounds in the model (with
// multi:softprob each round holds one tree per class).
func (b *Booster) BoostedRounds() (int, error) {
	const op = "boosted rounds"
	hm, err := b.lock(op)
	if err != nil {
		return 0, err
	}
	defer b.mu.Unlock()
	var n C.int
	err = hm.call(op, func() C.int { return C.XGBoosterBoostedRounds(hm.handle, &n) })
	return int(n), err
}

// NumFeatures returns the number of input columns the model expects.
func (b *Booster) NumFeatures() (int, error) {
	const op = "num features"
	hm, err := b.lock(op)
	if err != nil {
		return 0, err
	}
	defer b.mu.Unlock()
	var n C.bst_ulong
	err = hm.call(op, func() C.int { return C.XGBoosterGetNumFeature(hm.handle, &n) })
	return int(n), err
}

// FeatureNames returns the feature names saved in the model, or nil.
func (b *Booster) FeatureNames() ([]string, error) {
	const op = "feature names"
	hm, err := b.lock(op)
	if err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	cfield := C.CString("feature_name")
	defer C.free(unsafe.Pointer(cfield))
	var out []string
	err = hm.call(op, func() C.int {
		var n C.bst_ulong
		var arr **C.char
		rc := C.XGBoosterGetStrFeatureInfo(hm.handle, cfield, &n, &arr)
		if rc == 0 {
			out = goStrings(arr, n)
		}
		return rc
	})
	return out, err
}

// SetFeatureNames names the model's features; see DMatrix.SetFeatureNames.
func (b *Booster) SetFeatureNames(names []string) error {
	const op = "set feature names"
	if err := checkFeatureNames(names); err != nil {
		return fmt.Errorf("xgb: %s: %w", op, err)
	}
	hm, err := b.lock(op)
	if err != nil {
		return err
	}
	defer b.mu.Unlock()
	return setStrFeatureInfo(hm.call, op, names, func(field *C.char, arr **C.char, n C.bst_ulong) C.int {
		return C.XGBoosterSetStrFeatureInfo(hm.handle, field, arr, n)
	})
}

// Attr returns a string attribute saved with the model.
func (b *Booster) Attr(key string) (value string, ok bool, err error) {
	const op = "get attr"
	hm, err := b.lock(op)
	if err != nil {
		return "", false, err
	}
	defer b.mu.Unlock()
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	err = hm.call(op, func() C.int {
		var out *C.char
		var success C.int
		rc := C.XGBoosterGetAttr(hm.handle, ck, &out, &success)
		if rc == 0 && success != 0 {
			value, ok = C.GoString(out), true
		}
		return rc
	})
	return value, ok, err
}

// SetAttr stores a string attribute with the model (saved in JSON and UBJ).
func (b *Booster) SetAttr(key, value string) error {
	const op = "set attr"
	hm, err := b.lock(op)
	if err != nil {
		return err
	}
	defer b.mu.Unlock()
	return setAttr(hm, key, value)
}

func setAttr(hm *home, key, value string) error {
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	return hm.call("set attr "+key, func() C.int { return C.XGBoosterSetAttr(hm.handle, ck, cv) })
}

// BestIteration returns the round with the best validation score, as recorded by
// Train with early stopping (attribute "best_iteration", as Python's xgboost).
func (b *Booster) BestIteration() (int, bool, error) {
	s, ok, err := b.Attr("best_iteration")
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false, fmt.Errorf("xgb: best_iteration attribute %q: %w", s, err)
	}
	return n, true, nil
}

// Slice returns a new Booster holding boosting rounds [begin, end) of b, with b's
// attributes and feature names.
func (b *Booster) Slice(begin, end int) (*Booster, error) {
	op := fmt.Sprintf("slice [%d, %d)", begin, end)
	hm, err := b.lock(op)
	if err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	return sliceBooster(hm, op, begin, end)
}

func sliceBooster(from *home, op string, begin, end int) (*Booster, error) {
	if begin < 0 || end <= begin {
		return nil, fmt.Errorf("xgb: %s: empty or negative range", op)
	}
	hm := startHome()
	var rc C.int
	err := from.call(op, func() C.int {
		rc = C.XGBoosterSlice(from.handle, C.int(begin), C.int(end), 1, &hm.handle)
		return rc
	})
	if rc == -2 {
		err = fmt.Errorf("xgb: %s: out of the model's rounds", op)
	}
	if err != nil {
		close(hm.calls)
		return nil, err
	}
	liveHandles.Add(1)
	s := adopt(hm)
	// libxgboost 1.7 does not carry attributes over to the slice.
	if err := copyAttrs(from, hm, op); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func copyAttrs(from, to *home, op string) error {
	var keys []string
	if err := from.call(op, func() C.int {
		var n C.bst_ulong
		var arr **C.char
		rc := C.XGBoosterGetAttrNames(from.handle, &n, &arr)
		if rc == 0 {
			keys = goStrings(arr, n)
		}
		return rc
	}); err != nil {
		return err
	}
	for _, k := range keys {
		ck := C.CString(k)
		var v string
		err := from.call(op, func() C.int {
			var out *C.char
			var success C.int
			rc := C.XGBoosterGetAttr(from.handle, ck, &out, &success)
			if rc == 0 && success != 0 {
				v = C.GoString(out)
			}
			return rc
		})
		C.free(unsafe.Pointer(ck))
		if err != nil {
			return err
		}
		if err := setAttr(to, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Importance is a kind of feature importance computed by XGBoost.
type Importance string

// Importance kinds; the gain kinds measure the loss reduction of the splits on a
// feature.
const (
	TotalGain  Importance = "total_gain"
	Gain       Importance = "gain" // total_gain / number of splits
	Weight     Importance = "weight"
	Cover      Importance = "cover"
	TotalCover Importance = "total_cover"
)

// FeatureScore is the importance of one feature.
type FeatureScore struct {
	Feature string // feature name, or "f<index>" when the model has none
	Score   float64
}

// FeatureImportance returns the importance of every feature used in at least one
// split, highest first. Features never split on are absent.
func (b *Booster) FeatureImportance(kind Importance) ([]FeatureScore, error) {
	op := "feature importance " + string(kind)
	hm, err := b.lock(op)
	if err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	ccfg := C.CString(`{"importance_type":"` + string(kind) + `"}`)
	defer C.free(unsafe.Pointer(ccfg))
	var out []FeatureScore
	err = hm.call(op, func() C.int {
		var nf, dim C.bst_ulong
		var names **C.char
		var shape *C.bst_ulong
		var scores *C.float
		rc := C.XGBoosterFeatureScore(hm.handle, ccfg, &nf, &names, &dim, &shape, &scores)
		if rc != 0 {
			return rc
		}
		n := 1
		for _, d := range unsafe.Slice(shape, int(dim)) {
			n *= int(d)
		}
		fs := goStrings(names, nf)
		vals := unsafe.Slice((*float32)(unsafe.Pointer(scores)), n)
		// Tree models give one score per feature; linear ones a
		// features × classes matrix, summed here per feature.
		per := 1
		if len(fs) > 0 {
			per = n / len(fs)
		}
		for i, f := range fs {
			var s float64
			for _, v := range vals[i*per : (i+1)*per] {
				s += float64(v)
			}
			out = append(out, FeatureScore{Feature: f, Score: s})
		}
		return 0
	})
	slices.SortStableFunc(out, func(a, b FeatureScore) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.Feature, b.Feature)
	})
	return out, err
}
