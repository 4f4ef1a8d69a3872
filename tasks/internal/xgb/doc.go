// Package xgb binds the XGBoost C API (libxgboost 1.7 from Debian's libxgboost-dev)
// through cgo: dense training data with missing values, labels and weights
// (DMatrix), training with evaluation sets and early stopping (Train), in-place
// prediction, model files in XGBoost's JSON and UBJ formats that Python's xgboost
// reads, the JSON configuration, and feature importance.
//
// # Resources
//
// A DMatrix or Booster owns memory inside libxgboost. Close frees it at once and
// is idempotent; a cleanup registered with the runtime frees handles that were
// never closed, but only when the garbage collector gets to them, so close
// deterministically. LiveHandles counts the handles not yet freed.
//
// # Concurrency
//
// DMatrix and Booster are safe for concurrent use. libxgboost 1.7 keeps a
// booster's prediction cache and result buffers in thread-local storage, so each
// Booster runs all of its calls, one at a time, on an OS thread of its own, which
// ends when the Booster is closed; see Booster. Calls on different Boosters run in
// parallel, and every call uses up to Params.NumThreads cores through OpenMP (one
// OpenMP team per calling thread). Uses of one DMatrix are serialised too, since
// libxgboost builds a matrix's histogram index lazily; trainings that share a
// matrix take turns.
//
// libgomp's threads spin while they wait for work. On cores shared with other
// busy processes this slows training several-fold; OMP_WAIT_POLICY=passive in
// the environment of the process avoids it.
//
// # Errors
//
// Failures inside libxgboost are returned as *Error, printed as
// "xgb: <operation>: <XGBoost's message>".
package xgb
