package taskio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFinish(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		code     int
		want     *Failure // the last stdout line, nil: none
		inStderr string
	}{
		{"done", nil, 0, nil, ""},
		{"nothing to do", fmt.Errorf("%w: every table holds it", ErrNothingToDo), 99, nil, "nothing to do"},
		{"failed", errors.New("boom"), 1, &Failure{Task: "t", Error: "boom"}, "t: boom"},
		{"failed on a file", fmt.Errorf("read: %w", &FileError{File: "s3://b/x.json", Err: errors.New("bad")}), 1,
			&Failure{Task: "t", Error: "read: s3://b/x.json: bad", File: "s3://b/x.json"}, "s3://b/x.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			xcom := filepath.Join(t.TempDir(), "return.json")
			if code := Finish("t", tc.err, &stdout, &stderr, xcom); code != tc.code {
				t.Errorf("code %d, want %d", code, tc.code)
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.inStderr)
			}
			if tc.want == nil {
				if stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", stdout.String())
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			var got Failure
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], err)
			}
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			b, err := os.ReadFile(xcom)
			if err != nil || strings.TrimSpace(string(b)) != lines[len(lines)-1] {
				t.Errorf("xcom %q (%v), want the result", b, err)
			}
		})
	}
}

// A failure that carries the task's own result writes that result, not a
// bare Failure.
func TestFinishResultError(t *testing.T) {
	type result struct {
		Days  int    `json:"days"`
		Error string `json:"error"`
	}
	var stdout, stderr bytes.Buffer
	err := fmt.Errorf("run: %w", &ResultError{Err: errors.New("boom"), Result: result{Days: 3, Error: "boom"}})
	if code := Finish("t", err, &stdout, &stderr, ""); code != 1 {
		t.Errorf("code %d, want 1", code)
	}
	if got, want := strings.TrimSpace(stdout.String()), `{"days":3,"error":"boom"}`; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if !strings.Contains(stderr.String(), "t: run: boom") {
		t.Errorf("stderr %q does not say the error", stderr.String())
	}
}
