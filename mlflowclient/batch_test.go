package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func metrics(n int) []Metric {
	out := make([]Metric, n)
	for i := range out {
		out[i] = Metric{Key: "loss", Value: float64(i), Timestamp: 1, Step: int64(i)}
	}
	return out
}

func params(n, valueLen int) []Param {
	out := make([]Param, n)
	for i := range out {
		out[i] = Param{fmt.Sprintf("p%04d", i), strings.Repeat("v", valueLen)}
	}
	return out
}

func tags(n, valueLen int) []Tag {
	out := make([]Tag, n)
	for i := range out {
		out[i] = Tag{fmt.Sprintf("t%04d", i), strings.Repeat("v", valueLen)}
	}
	return out
}

func TestSplitBatch(t *testing.T) {
	type shape struct{ Metrics, Params, Tags int }
	tests := []struct {
		name string
		b    Batch
		want []shape
	}{
		{"empty", Batch{}, nil},
		{"small", Batch{Metrics: metrics(3), Params: params(2, 1), Tags: tags(1, 1)}, []shape{{3, 2, 1}}},
		{"1000 metrics fit one request", Batch{Metrics: metrics(1000)}, []shape{{1000, 0, 0}}},
		{"1001 metrics", Batch{Metrics: metrics(1001)}, []shape{{1000, 0, 0}, {1, 0, 0}}},
		{"101 params", Batch{Params: params(101, 1)}, []shape{{0, 100, 0}, {0, 1, 0}}},
		{"100 params and 100 tags share a request", Batch{Params: params(100, 1), Tags: tags(100, 1)}, []shape{{0, 100, 100}}},
		{"1000 items in total", Batch{Params: params(100, 1), Tags: tags(100, 1), Metrics: metrics(900)},
			[]shape{{800, 100, 100}, {100, 0, 0}}},
		{"mixed overflow", Batch{Params: params(150, 1), Tags: tags(250, 1), Metrics: metrics(2500)},
			[]shape{{0, 100, 0}, {0, 50, 100}, {0, 0, 100}, {950, 0, 50}, {1000, 0, 0}, {550, 0, 0}}},
		// 100 tags of 8000 characters are about 800 kB: within 1 MB. 300 are not.
		{"bytes limit", Batch{Tags: tags(300, 8000)}, []shape{{0, 0, 100}, {0, 0, 100}, {0, 0, 100}}},
		{"bytes limit splits before 100", Batch{Params: params(100, 6000), Tags: tags(100, 6000)},
			[]shape{{0, 100, 65}, {0, 0, 35}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bodies, err := splitBatch("run", tc.b, 42)
			if err != nil {
				t.Fatal(err)
			}
			var got []shape
			var all Batch
			for _, b := range bodies {
				got = append(got, shape{len(b.Metrics), len(b.Params), len(b.Tags)})
				raw, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				if len(raw) > MaxBatchRequestBytes {
					t.Errorf("request of %d bytes exceeds the limit", len(raw))
				}
				if n := len(b.Metrics) + len(b.Params) + len(b.Tags); n > MaxEntitiesPerBatch || n == 0 {
					t.Errorf("request with %d items", n)
				}
				if b.RunID != "run" {
					t.Errorf("run_id = %q", b.RunID)
				}
				all.Metrics = append(all.Metrics, b.Metrics...)
				all.Params = append(all.Params, b.Params...)
				all.Tags = append(all.Tags, b.Tags...)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("request shapes (-want +got):\n%s", diff)
			}
			// Nothing lost, nothing reordered.
			if diff := cmp.Diff(tc.b, all, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitBatchFillsTimestamps(t *testing.T) {
	bodies, err := splitBatch("r", Batch{Metrics: []Metric{{Key: "a", Value: 1}, {Key: "b", Value: 2, Timestamp: 7}}}, 1234)
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{{Key: "a", Value: 1, Timestamp: 1234}, {Key: "b", Value: 2, Timestamp: 7}}
	if diff := cmp.Diff(want, bodies[0].Metrics); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestSplitBatchOversizeItem(t *testing.T) {
	_, err := splitBatch("r", Batch{Tags: []Tag{{"k", strings.Repeat("x", MaxBatchRequestBytes)}}}, 1)
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v, want an oversize error", err)
	}
}

func TestLogBatchStopsAtFirstFailure(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b batchBody
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Errorf("bad body: %v", err)
		}
		mu.Lock()
		sizes = append(sizes, len(b.Metrics))
		n := len(sizes)
		mu.Unlock()
		if n == 2 {
			w.WriteHeader(400)
			io.WriteString(w, `{"error_code":"INVALID_PARAMETER_VALUE","message":"bad metric"}`)
			return
		}
		io.WriteString(w, "{}")
	}))
	err := c.Runs.LogBatch(context.Background(), "r", Batch{Metrics: metrics(3500)})
	if err == nil || !strings.Contains(err.Error(), "log-batch request 2 of 4") {
		t.Fatalf("err = %v, want the failing request named", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.ErrorCode != "INVALID_PARAMETER_VALUE" {
		t.Errorf("err = %v, want the *APIError wrapped", err)
	}
	if diff := cmp.Diff([]int{1000, 1000}, sizes); diff != "" {
		t.Errorf("requests sent (-want +got):\n%s", diff)
	}
}

// BenchmarkSplitBatch packs a training run's worth of points (10k metric
// points, 100 params, 50 tags) into requests.
func BenchmarkSplitBatch(b *testing.B) {
	batch := Batch{Metrics: metrics(10_000), Params: params(100, 20), Tags: tags(50, 40)}
	b.ReportAllocs()
	for b.Loop() {
		bodies, err := splitBatch("0123456789abcdef0123456789abcdef", batch, 1)
		if err != nil || len(bodies) != 11 {
			b.Fatalf("%d requests, %v", len(bodies), err)
		}
	}
}
