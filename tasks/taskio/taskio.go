// Package taskio implements the task contract shared by every task binary:
// a one-line JSON result as the last line of stdout (and, with --xcom, in
// /airflow/xcom/return.json), progress on stderr, and exit codes 0 (done),
// 1 (failed) and 99 (nothing to do; Airflow marks the task skipped).
package taskio

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// ExitNothingToDo is the exit code of a task that found nothing to do.
const ExitNothingToDo = 99

// ErrNothingToDo is returned by a task's run function when there was
// nothing to do; Exit turns it into exit code 99.
var ErrNothingToDo = errors.New("nothing to do")

// XComPath is where KubernetesPodOperator's sidecar reads a task's result.
const XComPath = "/airflow/xcom/return.json"

// A Flagger adds its flags to a flag set, as the option types of the
// tasks' packages do.
type Flagger interface {
	RegisterFlags(fs *flag.FlagSet)
}

// Parse starts a task's main: it adds the flags of each of flags and --xcom
// to the command line and parses it, sets *xcom to XComPath when --xcom was
// given, and returns a context that SIGINT and SIGTERM cancel. The context
// lives as long as the process: a task ends through Exit.
func Parse(xcom *string, flags ...Flagger) context.Context {
	for _, f := range flags {
		f.RegisterFlags(flag.CommandLine)
	}
	toXCom := flag.Bool("xcom", false, "also write the result to "+XComPath)
	flag.Parse()
	if *toXCom {
		*xcom = XComPath
		failureXCom = XComPath
	}
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return ctx
}

// WriteResult writes v as one JSON line to stdout and, when xcomPath is not
// empty, to that file.
func WriteResult(stdout io.Writer, xcomPath string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("taskio: result: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
		return err
	}
	if xcomPath != "" {
		if err := os.MkdirAll(filepath.Dir(xcomPath), 0o755); err != nil {
			return fmt.Errorf("taskio: xcom: %w", err)
		}
		if err := os.WriteFile(xcomPath, b, 0o644); err != nil {
			return fmt.Errorf("taskio: xcom: %w", err)
		}
	}
	return nil
}

// failureXCom is where Exit also writes a failure's result (set by Parse
// with --xcom).
var failureXCom string

// Failure is the JSON result of a failed task: the error and, when one
// input is to blame, its path or URI.
type Failure struct {
	Task  string `json:"task"`
	Error string `json:"error"`
	File  string `json:"file,omitempty"`
}

// FileError blames one input file or object for err; Exit puts its File
// in the failure's result.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// ResultError is a failure of a task that has its own result to report
// (what it did before it failed, e.g. the days a run ingested beside a
// quarantined one): Finish writes Result as the failure's result instead
// of a bare Failure. Result should say the error (a field "error") and,
// when one input is to blame, that file ("file"), as Failure does.
type ResultError struct {
	Err    error
	Result any
}

func (e *ResultError) Error() string { return e.Err.Error() }
func (e *ResultError) Unwrap() error { return e.Err }

// Exit prints err to stderr under the task's name and exits with the
// contract's code. A failure also prints its JSON result (Failure) as the
// last stdout line, and to the XCom file with --xcom, so that Airflow reads
// why.
func Exit(name string, err error) {
	os.Exit(Finish(name, err, os.Stdout, os.Stderr, failureXCom))
}

// Finish reports err as Exit does and returns the exit code.
func Finish(name string, err error, stdout, stderr io.Writer, xcomPath string) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrNothingToDo):
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitNothingToDo
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var re *ResultError
	if errors.As(err, &re) {
		if werr := WriteResult(stdout, xcomPath, re.Result); werr != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, werr)
		}
		return 1
	}
	f := Failure{Task: name, Error: err.Error()}
	var fe *FileError
	if errors.As(err, &fe) {
		f.File = fe.File
	}
	if werr := WriteResult(stdout, xcomPath, f); werr != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, werr)
	}
	return 1
}
