package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fastRetries keeps retry tests quick.
var fastRetries = WithRetries(3, time.Millisecond, 5*time.Millisecond)

func newTestClient(t *testing.T, h http.Handler, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, append([]Option{fastRetries}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        APIError
		notFound    bool
		exists      bool
	}{
		{
			name: "not found JSON", status: 404, contentType: "application/json",
			body:     `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Could not find experiment with name 'x'"}`,
			want:     APIError{StatusCode: 404, ErrorCode: "RESOURCE_DOES_NOT_EXIST", Message: "Could not find experiment with name 'x'"},
			notFound: true,
		},
		{
			name: "already exists is 400", status: 400, contentType: "application/json",
			body:   `{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Experiment(name=e1) already exists."}`,
			want:   APIError{StatusCode: 400, ErrorCode: "RESOURCE_ALREADY_EXISTS", Message: "Experiment(name=e1) already exists."},
			exists: true,
		},
		{
			name: "invalid parameter", status: 400, contentType: "application/json",
			body: `{"error_code":"INVALID_PARAMETER_VALUE","message":"Missing value for required parameter 'name'"}`,
			want: APIError{StatusCode: 400, ErrorCode: "INVALID_PARAMETER_VALUE", Message: "Missing value for required parameter 'name'"},
		},
		{
			name: "plain text 503 from --no-serve-artifacts", status: 503, contentType: "text/plain",
			body: "Endpoint: /api/2.0/mlflow-artifacts/artifacts disabled due to the mlflow server running with `--no-serve-artifacts`.\n",
			want: APIError{StatusCode: 503, Message: "Endpoint: /api/2.0/mlflow-artifacts/artifacts disabled due to the mlflow server running with `--no-serve-artifacts`."},
		},
		{
			name: "HTML 401 from a proxy", status: 401, contentType: "text/html",
			body: "<html><body>Unauthorized</body></html>",
			want: APIError{StatusCode: 401, Message: "<html><body>Unauthorized</body></html>"},
		},
		{
			name: "empty 404", status: 404,
			want:     APIError{StatusCode: 404, Message: "Not Found"},
			notFound: true,
		},
		{
			name: "JSON without MLflow fields", status: 502, contentType: "application/json",
			body: `{"detail":"bad gateway"}`,
			want: APIError{StatusCode: 502, Message: `{"detail":"bad gateway"}`},
		},
		{
			name: "endpoint not found is not ErrNotFound", status: 404, contentType: "application/json",
			body: `{"error_code":"ENDPOINT_NOT_FOUND","message":"no such endpoint"}`,
			want: APIError{StatusCode: 404, ErrorCode: "ENDPOINT_NOT_FOUND", Message: "no such endpoint"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}), WithRetries(0, 0, 0))
			_, err := c.Experiments.Create(context.Background(), "e1", nil)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			want := tc.want
			want.Method, want.Route = "POST", "/api/2.0/mlflow/experiments/create"
			if diff := cmp.Diff(want, *ae, cmp.AllowUnexported(APIError{})); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if got := errors.Is(err, ErrNotFound); got != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tc.notFound)
			}
			if got := errors.Is(err, ErrAlreadyExists); got != tc.exists {
				t.Errorf("errors.Is(err, ErrAlreadyExists) = %v, want %v", got, tc.exists)
			}
			if !strings.HasPrefix(err.Error(), "mlflowclient: POST /api/2.0/mlflow/experiments/create: ") {
				t.Errorf("error text %q lacks the package and route prefix", err)
			}
		})
	}
}

func TestSuccessBodyNotJSON(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>login</html>")
	}))
	_, err := c.Experiments.GetByName(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "decode 200 response") {
		t.Fatalf("err = %v, want a decode error", err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		t.Errorf("a 200 answer must not become *APIError")
	}
}

func TestEmptySuccessBodyIsNotAnObject(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{}")
	}))
	exp, err := c.Experiments.GetByName(context.Background(), "x")
	if err == nil || exp != nil {
		t.Fatalf("got (%v, %v), want an error for an answer without experiment", exp, err)
	}
}

// countingHandler answers with statuses[i] for the i-th request (the last
// one repeats) and counts requests.
type countingHandler struct {
	mu       sync.Mutex
	n        int
	statuses []int
	body     string
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	i := min(h.n, len(h.statuses)-1)
	h.n++
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(h.statuses[i])
	if h.statuses[i] >= 400 {
		io.WriteString(w, `{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}`)
		return
	}
	io.WriteString(w, h.body)
}

func (h *countingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func TestRetries(t *testing.T) {
	expBody := `{"experiment":{"experiment_id":"7","name":"e"}}`
	tests := []struct {
		name      string
		statuses  []int
		call      func(*Client) error
		wantCalls int
		wantErr   int // status of the returned *APIError, 0 for success
	}{
		{
			name: "GET retried on 503 until success", statuses: []int{503, 503, 200},
			call:      func(c *Client) error { _, err := c.Experiments.Get(context.Background(), "7"); return err },
			wantCalls: 3,
		},
		{
			name: "GET retried on 429, 500, 502, 504", statuses: []int{429, 500, 502, 504, 200},
			call:      func(c *Client) error { _, err := c.Experiments.Get(context.Background(), "7"); return err },
			wantCalls: 4, wantErr: 504, // 3 retries: 4 attempts
		},
		{
			name: "GET gives up after the retries", statuses: []int{503},
			call:      func(c *Client) error { _, err := c.Experiments.Get(context.Background(), "7"); return err },
			wantCalls: 4, wantErr: 503,
		},
		{
			name: "GET not retried on 400", statuses: []int{400, 200},
			call:      func(c *Client) error { _, err := c.Experiments.Get(context.Background(), "7"); return err },
			wantCalls: 1, wantErr: 400,
		},
		{
			name: "GET not retried on 501", statuses: []int{501, 200},
			call:      func(c *Client) error { _, err := c.Experiments.Get(context.Background(), "7"); return err },
			wantCalls: 1, wantErr: 501,
		},
		{
			name: "POST create not retried on 503", statuses: []int{503, 200},
			call:      func(c *Client) error { _, err := c.Experiments.Create(context.Background(), "e", nil); return err },
			wantCalls: 1, wantErr: 503,
		},
		{
			name: "POST create run not retried on 503", statuses: []int{503, 200},
			call:      func(c *Client) error { _, err := c.Runs.Create(context.Background(), "1", nil); return err },
			wantCalls: 1, wantErr: 503,
		},
		{
			name: "log-batch with metrics not retried", statuses: []int{503, 200},
			call: func(c *Client) error {
				return c.Runs.LogBatch(context.Background(), "r", Batch{Metrics: []Metric{{Key: "m", Value: 1, Timestamp: 1}}})
			},
			wantCalls: 1, wantErr: 503,
		},
		{
			name: "log-batch of params only retried", statuses: []int{503, 200},
			call: func(c *Client) error {
				return c.Runs.LogBatch(context.Background(), "r", Batch{Params: []Param{{"p", "1"}}})
			},
			wantCalls: 2,
		},
		{
			name: "POST set-tag (idempotent) retried", statuses: []int{503, 200},
			call:      func(c *Client) error { return c.Runs.SetTag(context.Background(), "r", "k", "v") },
			wantCalls: 2,
		},
		{
			name: "POST set alias (idempotent) retried", statuses: []int{502, 200},
			call:      func(c *Client) error { return c.RegisteredModels.SetAlias(context.Background(), "m", "champion", "1") },
			wantCalls: 2,
		},
		{
			name: "POST model version create not retried", statuses: []int{503, 200},
			call: func(c *Client) error {
				_, err := c.ModelVersions.Create(context.Background(), "m", "mlflow-artifacts:/1/r/artifacts/model", nil)
				return err
			},
			wantCalls: 1, wantErr: 503,
		},
		{
			name: "PUT artifact retried with the same body", statuses: []int{503, 200},
			call: func(c *Client) error {
				return c.Artifacts.Upload(context.Background(), "mlflow-artifacts:/1/r/artifacts", "a.txt", strings.NewReader("x"))
			},
			wantCalls: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &countingHandler{statuses: tc.statuses, body: expBody}
			c := newTestClient(t, h)
			err := tc.call(c)
			if got := h.count(); got != tc.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tc.wantCalls)
			}
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tc.wantErr {
				t.Fatalf("err = %v, want *APIError with status %d", err, tc.wantErr)
			}
		})
	}
}

func TestRetryResendsUploadBody(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	var lengths []int64
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		lengths = append(lengths, r.ContentLength)
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, "{}")
	}))
	if err := c.Artifacts.Upload(context.Background(), "mlflow-artifacts:/1/r/artifacts", "d/a.txt", strings.NewReader("payload")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"payload", "payload"}, bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	// The server needs Content-Length: chunked uploads are stored empty.
	if diff := cmp.Diff([]int64{7, 7}, lengths); diff != "" {
		t.Errorf("Content-Length (-want +got):\n%s", diff)
	}
}

func TestTransportErrorRetriedOnlyWhenIdempotent(t *testing.T) {
	var n atomic.Int32
	// The first request of each test has its connection dropped.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, `{"experiment":{"experiment_id":"1"},"experiment_id":"1"}`)
	})
	t.Run("GET", func(t *testing.T) {
		n.Store(0)
		c := newTestClient(t, h)
		if _, err := c.Experiments.Get(context.Background(), "1"); err != nil {
			t.Fatalf("GET after a dropped connection: %v", err)
		}
		if got := n.Load(); got != 2 {
			t.Errorf("server saw %d requests, want 2", got)
		}
	})
	t.Run("POST create", func(t *testing.T) {
		n.Store(0)
		c := newTestClient(t, h)
		_, err := c.Experiments.Create(context.Background(), "e", nil)
		if err == nil {
			t.Fatal("create succeeded after a dropped connection; it must not be resent")
		}
		if got := n.Load(); got != 1 {
			t.Errorf("server saw %d requests, want 1", got)
		}
		var ae *APIError
		if errors.As(err, &ae) {
			t.Errorf("transport error became *APIError: %v", err)
		}
	})
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), WithTimeout(50*time.Millisecond), WithRetries(1, time.Millisecond, time.Millisecond))
	t.Cleanup(func() { close(release) })

	start := time.Now()
	_, err := c.Experiments.Get(context.Background(), "1")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("server saw %d attempts, want 2 (a timed-out GET is retried once)", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestContextStopsRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			cancel() // the caller gives up while the server is failing
		}
		w.WriteHeader(503)
	}), WithRetries(100, time.Millisecond, time.Millisecond))
	_, err := c.Experiments.Get(ctx, "1")
	if err == nil {
		t.Fatal("want an error")
	}
	if got := n.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2: cancellation must stop the retries", got)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	var first time.Time
	var gap time.Duration
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		gap = time.Since(first)
		io.WriteString(w, `{"experiment":{"experiment_id":"1"}}`)
	}), WithRetries(2, time.Millisecond, 3*time.Second))
	if _, err := c.Experiments.Get(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	if gap < 900*time.Millisecond {
		t.Errorf("retried after %v, want about the 1s of Retry-After", gap)
	}
}

func TestHeaders(t *testing.T) {
	type seen struct{ auth, ua, ct string }
	tests := []struct {
		name string
		opts []Option
		want seen
	}{
		{"basic", []Option{WithBasicAuth("admin", "pw")}, seen{"Basic YWRtaW46cHc=", DefaultUserAgent, "application/json"}},
		{"bearer", []Option{WithToken("tok"), WithUserAgent("tt/2")}, seen{"Bearer tok", "tt/2", "application/json"}},
		{"none", nil, seen{"", DefaultUserAgent, "application/json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got seen
			c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = seen{r.Header.Get("Authorization"), r.Header.Get("User-Agent"), r.Header.Get("Content-Type")}
				io.WriteString(w, "{}")
			}), tc.opts...)
			if err := c.Runs.SetTag(context.Background(), "r", "k", "v"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(seen{})); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts []Option
	}{
		{"databricks", nil},
		{"file:///tmp/mlruns", nil},
		{"sqlite:///mlflow.db", nil},
		{"http://", nil},
		{"http://h:5000?x=1", nil},
		{"http://h:5000", []Option{WithBasicAuth("u", "p"), WithToken("t")}},
		{"http://h:5000", []Option{WithRetries(-1, 0, 0)}},
	} {
		if _, err := New(tc.url, tc.opts...); err == nil {
			t.Errorf("New(%q) succeeded, want an error", tc.url)
		}
	}
	c, err := New("https://mlflow.example/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.BaseURL(), "https://mlflow.example/prefix"; got != want {
		t.Errorf("BaseURL = %q, want %q", got, want)
	}
}

func TestBasePathPrefixKept(t *testing.T) {
	var path string
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		io.WriteString(w, `{"experiment":{"experiment_id":"1"}}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(srv.URL + "/mlflow/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Experiments.Get(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	if want := "/mlflow/api/2.0/mlflow/experiments/get"; path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
}

func TestNewFromEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  string
		wantAuth string
	}{
		{name: "unset", env: nil, wantErr: "MLFLOW_TRACKING_URI is not set"},
		{name: "plain", env: map[string]string{"MLFLOW_TRACKING_URI": "URL"}},
		{name: "basic", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"}, wantAuth: "Basic dTpw"},
		{name: "token", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_TRACKING_TOKEN": "t"}, wantAuth: "Bearer t"},
		{name: "both", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_TOKEN": "t"}, wantErr: "choose one"},
		{name: "insecure ok", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_TRACKING_INSECURE_TLS": "TRUE"}},
		{name: "insecure bad", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_TRACKING_INSECURE_TLS": "yes"}, wantErr: "MLFLOW_TRACKING_INSECURE_TLS"},
		{name: "timeout bad", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_HTTP_REQUEST_TIMEOUT": "-1"}, wantErr: "MLFLOW_HTTP_REQUEST_TIMEOUT"},
		{name: "retries bad", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "x"}, wantErr: "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
		{name: "timeout and retries", env: map[string]string{"MLFLOW_TRACKING_URI": "URL", "MLFLOW_HTTP_REQUEST_TIMEOUT": "2.5", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var auth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth = r.Header.Get("Authorization")
				io.WriteString(w, "{}")
			}))
			defer srv.Close()
			c, err := NewFromEnv(func(k string) string {
				v := tc.env[k]
				if v == "URL" {
					return srv.URL
				}
				return v
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Runs.SetTag(context.Background(), "r", "k", "v"); err != nil {
				t.Fatal(err)
			}
			if auth != tc.wantAuth {
				t.Errorf("Authorization = %q, want %q", auth, tc.wantAuth)
			}
		})
	}
}

func TestMetricJSON(t *testing.T) {
	tests := []struct {
		in   string
		want string // re-encoded
	}{
		{`{"key":"m","value":1.5,"timestamp":1700000000000,"step":3}`, `{"key":"m","value":1.5,"timestamp":1700000000000,"step":3}`},
		{`{"key":"m","value":"NaN","timestamp":"1","step":"0"}`, `{"key":"m","value":"NaN","timestamp":1,"step":0}`},
		{`{"key":"m","value":"Infinity","timestamp":1,"step":0}`, `{"key":"m","value":"Infinity","timestamp":1,"step":0}`},
		{`{"key":"m","value":"-Infinity","timestamp":1,"step":0}`, `{"key":"m","value":"-Infinity","timestamp":1,"step":0}`},
		{`{"key":"m","value":"2.25","timestamp":1.7e12}`, `{"key":"m","value":2.25,"timestamp":1700000000000,"step":0}`},
		{`{"key":"m","value":1.7976931348623157e+308,"timestamp":2,"step":1}`, `{"key":"m","value":1.7976931348623157e+308,"timestamp":2,"step":1}`},
	}
	for _, tc := range tests {
		var m Metric
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		got, err := json.Marshal(m)
		if err != nil {
			t.Errorf("Marshal(%+v): %v", m, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("round trip of %s = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`{"value":"nan"}`, `{"value":"x"}`, `{"timestamp":"1.5"}`, `{"step":true}`} {
		var m Metric
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}

func TestDecodeTolerantInt64(t *testing.T) {
	var r Run
	in := `{"info":{"run_uuid":"abc","experiment_id":"1","status":"FINISHED","start_time":"1700000000000","end_time":1700000000500,"artifact_uri":"mlflow-artifacts:/1/abc/artifacts"},"data":{"params":[{"key":"p","value":"1"}]}}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	want := Run{
		Info: RunInfo{RunID: "abc", ExperimentID: "1", Status: RunFinished, StartTime: 1700000000000, EndTime: 1700000000500, ArtifactURI: "mlflow-artifacts:/1/abc/artifacts"},
		Data: RunData{Params: []Param{{"p", "1"}}},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Run (-want +got):\n%s", diff)
	}
	var f FileInfo
	if err := json.Unmarshal([]byte(`{"path":"a","file_size":"34"}`), &f); err != nil || f.FileSize != 34 {
		t.Errorf("FileInfo = %+v, %v; want size 34", f, err)
	}
}
