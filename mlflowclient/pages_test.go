package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pagedRuns serves runs/search in pages of size with tokens "p1", "p2", …
func pagedRuns(t *testing.T, total, size int, requests *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var req struct {
			MaxResults int    `json:"max_results"`
			PageToken  string `json:"page_token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("decode: %v", err)
		}
		if req.MaxResults != size {
			t.Errorf("max_results = %d, want %d", req.MaxResults, size)
		}
		start := 0
		if req.PageToken != "" {
			fmt.Sscanf(req.PageToken, "p%d", &start)
		}
		var runs []string
		for i := start; i < min(start+size, total); i++ {
			runs = append(runs, fmt.Sprintf(`{"info":{"run_id":"r%d"}}`, i))
		}
		next := ""
		if start+size < total {
			next = fmt.Sprintf(`,"next_page_token":"p%d"`, start+size)
		}
		fmt.Fprintf(w, `{"runs":[%s]%s}`, strings.Join(runs, ","), next)
	})
}

func TestSearchPaging(t *testing.T) {
	var requests atomic.Int32
	c := newTestClient(t, pagedRuns(t, 7, 3, &requests))
	var got []string
	for run, err := range c.Runs.Search(context.Background(), &RunSearchOptions{ExperimentIDs: []string{"1"}, PageSize: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, run.Info.RunID)
	}
	if diff := cmp.Diff([]string{"r0", "r1", "r2", "r3", "r4", "r5", "r6"}, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestSearchBreakStopsFetching(t *testing.T) {
	var requests atomic.Int32
	c := newTestClient(t, pagedRuns(t, 100, 3, &requests))
	n := 0
	for _, err := range c.Runs.Search(context.Background(), &RunSearchOptions{PageSize: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 4 {
			break
		}
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("%d requests for 4 runs in pages of 3, want 2", got)
	}
}

func TestSearchYieldsErrorOnce(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		io.WriteString(w, `{"error_code":"INVALID_PARAMETER_VALUE","message":"bad filter"}`)
	}))
	var errs []error
	for run, err := range c.Runs.Search(context.Background(), &RunSearchOptions{Filter: "metrics.x >"}) {
		if run != nil {
			t.Errorf("got run %v with an error", run)
		}
		errs = append(errs, err)
	}
	var ae *APIError
	if len(errs) != 1 || !errors.As(errs[0], &ae) || ae.Message != "bad filter" {
		t.Errorf("errors = %v, want one *APIError", errs)
	}
}

func TestSearchRepeatedTokenStops(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"registered_models":[{"name":"m"}],"next_page_token":"same"}`)
	}))
	var names []string
	var last error
	for m, err := range c.RegisteredModels.Search(context.Background(), nil) {
		if err != nil {
			last = err
			break
		}
		names = append(names, m.Name)
	}
	if last == nil || !strings.Contains(last.Error(), "repeated page token") {
		t.Errorf("err = %v, want a repeated-token error", last)
	}
	if len(names) != 2 {
		t.Errorf("got %d models before the loop was detected, want 2", len(names))
	}
}

func TestGetVersionByAliasNotFound(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What MLflow 3.7 answers for a missing alias.
		w.WriteHeader(400)
		io.WriteString(w, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias champion not found."}`)
	}))
	_, err := c.RegisteredModels.GetVersionByAlias(context.Background(), "m", "champion")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 {
		t.Errorf("err = %v, want the *APIError kept", err)
	}
	if errors.Is(err, ErrAlreadyExists) {
		t.Error("matches ErrAlreadyExists too")
	}
}

func TestWaitReady(t *testing.T) {
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := "PENDING_REGISTRATION"
		if n.Add(1) == 3 {
			status = "READY"
		}
		fmt.Fprintf(w, `{"model_version":{"name":"m","version":"2","status":%q}}`, status)
	}))
	v, err := c.ModelVersions.WaitReady(context.Background(), "m", "2", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != VersionReady || n.Load() != 3 {
		t.Errorf("status %s after %d polls, want READY after 3", v.Status, n.Load())
	}
}

func TestWaitReadyFailedAndDeadline(t *testing.T) {
	t.Run("failed", func(t *testing.T) {
		c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"model_version":{"name":"m","version":"2","status":"FAILED_REGISTRATION","status_message":"copy failed"}}`)
		}))
		_, err := c.ModelVersions.WaitReady(context.Background(), "m", "2", time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "copy failed") {
			t.Fatalf("err = %v, want the failure message", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"model_version":{"name":"m","version":"2","status":"PENDING_REGISTRATION"}}`)
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := c.ModelVersions.WaitReady(ctx, "m", "2", time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	})
}
