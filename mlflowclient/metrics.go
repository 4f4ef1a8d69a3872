package mlflowclient

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"time"
)

// Server limits of one log-batch request (mlflow/utils/validation.py).
const (
	MaxMetricsPerBatch      = 1000
	MaxParamsTagsPerBatch   = 100  // each, params and tags
	MaxEntitiesPerBatch     = 1000 // metrics + params + tags
	MaxBatchRequestBytes    = 1_000_000
	batchEnvelopeOverhead   = 64 // {"run_id":"","metrics":[],"params":[],"tags":[]}
	batchRequestBudgetBytes = MaxBatchRequestBytes - 1024
)

// Batch is what LogBatch writes: metric points, params and tags.
type Batch struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// batchBody is one log-batch request.
type batchBody struct {
	RunID   string   `json:"run_id"`
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// LogBatch logs metrics (with steps and timestamps; a zero Timestamp becomes
// now), params and tags to a run. It splits the batch into as few requests
// as the server's limits allow (1000 metrics, 100 params, 100 tags, 1000
// items, 1 MB per request), sending params and tags before metrics.
//
// Requests are sent in order and the first failure stops LogBatch, so an
// error can leave earlier requests written. Requests holding metrics are not
// retried (metrics are append-only and a resend would duplicate points);
// requests of params and tags only are.
//
// The server truncates param values longer than 6000 and tag values longer
// than 8000 characters; keys are limited to 250.
//
// POST /api/2.0/mlflow/runs/log-batch
func (s *RunsService) LogBatch(ctx context.Context, runID string, b Batch) error {
	bodies, err := splitBatch(runID, b, time.Now().UnixMilli())
	if err != nil {
		return err
	}
	for i, body := range bodies {
		req := request{method: "POST", route: api("runs/log-batch"), body: body, idempotent: len(body.Metrics) == 0}
		if err := s.client.do(ctx, req, nil); err != nil {
			if len(bodies) > 1 {
				return fmt.Errorf("mlflowclient: log-batch request %d of %d: %w", i+1, len(bodies), err)
			}
			return err
		}
	}
	return nil
}

// splitBatch packs b into requests within the server limits. now fills zero
// metric timestamps.
func splitBatch(runID string, b Batch, now int64) ([]batchBody, error) {
	var (
		out   []batchBody
		cur   = batchBody{RunID: runID}
		items int
		size  = batchEnvelopeOverhead + len(runID)
	)
	flush := func() {
		if items > 0 {
			out = append(out, cur)
		}
		cur, items, size = batchBody{RunID: runID}, 0, batchEnvelopeOverhead+len(runID)
	}
	// add makes room for one item of n JSON bytes; kindFull reports whether
	// the item's own list is at its limit.
	add := func(n int, kindFull func() bool) error {
		if n+batchEnvelopeOverhead+len(runID) > batchRequestBudgetBytes {
			return fmt.Errorf("mlflowclient: log-batch item of %d bytes exceeds the %d-byte request limit", n, MaxBatchRequestBytes)
		}
		if items >= MaxEntitiesPerBatch || kindFull() || size+n+1 > batchRequestBudgetBytes {
			flush()
		}
		items++
		size += n + 1
		return nil
	}
	for _, p := range b.Params {
		n := kvJSONLen(p.Key, p.Value)
		if err := add(n, func() bool { return len(cur.Params) >= MaxParamsTagsPerBatch }); err != nil {
			return nil, err
		}
		cur.Params = append(cur.Params, p)
	}
	for _, t := range b.Tags {
		n := kvJSONLen(t.Key, t.Value)
		if err := add(n, func() bool { return len(cur.Tags) >= MaxParamsTagsPerBatch }); err != nil {
			return nil, err
		}
		cur.Tags = append(cur.Tags, t)
	}
	var scratch []byte
	for _, m := range b.Metrics {
		if m.Timestamp == 0 {
			m.Timestamp = now
		}
		scratch = m.appendJSON(scratch[:0])
		if err := add(len(scratch), func() bool { return len(cur.Metrics) >= MaxMetricsPerBatch }); err != nil {
			return nil, err
		}
		cur.Metrics = append(cur.Metrics, m)
	}
	flush()
	return out, nil
}

// kvJSONLen is the length of {"key":k,"value":v}.
func kvJSONLen(k, v string) int {
	return len(`{"key":,"value":}`) + len(appendJSONString(nil, k)) + len(appendJSONString(nil, v))
}

// MetricHistory iterates over every logged point of a run's metric, in the
// server's order (by step, then timestamp).
//
// GET /api/2.0/mlflow/metrics/get-history
func (s *RunsService) MetricHistory(ctx context.Context, runID, key string) iter.Seq2[Metric, error] {
	return paginate(ctx, func(ctx context.Context, token string) ([]Metric, string, error) {
		q := url.Values{"run_id": {runID}, "metric_key": {key}, "max_results": {"25000"}}
		if token != "" {
			q.Set("page_token", token)
		}
		var out struct {
			Metrics       []Metric `json:"metrics"`
			NextPageToken string   `json:"next_page_token"`
		}
		err := s.client.do(ctx, request{method: "GET", route: api("metrics/get-history"), query: q, idempotent: true}, &out)
		return out.Metrics, out.NextPageToken, err
	})
}
