// Package taskio implements the task contract shared by every task binary:
// a one-line JSON result as the last line of stdout (and, with --xcom, in
// /airflow/xcom/return.json), progress on stderr, and exit codes 0 (done),
// 1 (failed) and 99 (nothing to do; Airflow marks the task skipped).
package taskio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ExitNothingToDo is the exit code of a task that found nothing to do.
const ExitNothingToDo = 99

// ErrNothingToDo is returned by a task's run function when there was
// nothing to do; Main turns it into exit code 99.
var ErrNothingToDo = errors.New("nothing to do")

// XComPath is where KubernetesPodOperator's sidecar reads a task's result.
const XComPath = "/airflow/xcom/return.json"

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

// Exit prints err to stderr under the task's name and exits with the
// contract's code.
func Exit(name string, err error) {
	switch {
	case err == nil:
		os.Exit(0)
	case errors.Is(err, ErrNothingToDo):
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(ExitNothingToDo)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
