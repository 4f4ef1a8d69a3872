package mlflowclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProxiedRoute(t *testing.T) {
	tests := []struct {
		uri, rel  string
		wantRoute string
		wantErr   string
	}{
		{"mlflow-artifacts:/1/abc/artifacts", "model/MLmodel", "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/MLmodel", ""},
		{"mlflow-artifacts://host:5000/1/abc/artifacts", "a b/c;d?.txt", "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20b/c%3Bd%3F.txt", ""},
		{"mlflow-artifacts:/1/abc/artifacts", "report#1.json", "", "#"},
		{"mlflow-artifacts:///1/abc/artifacts/", "/x/", "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/x", ""},
		{"mlflow-artifacts:/", "", "/api/2.0/mlflow-artifacts/artifacts", ""},
		{"mlflow-artifacts:/1/abc/artifacts", "ünï/ø.txt", "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/%C3%BCn%C3%AF/%C3%B8.txt", ""},
		{"s3://bucket/1/abc/artifacts", "x", "", "not served by the tracking server"},
		{"file:///tmp/mlruns/1/abc/artifacts", "x", "", "not served by the tracking server"},
		{"/tmp/mlruns", "x", "", "not served by the tracking server"},
		{"mlflow-artifacts:/1/abc/artifacts", "../other-run/x", "", ".. segment"},
		{"mlflow-artifacts:/1/abc/artifacts", "a/./b", "", ".. segment"},
		{"mlflow-artifacts:/1/abc/artifacts", "a//b", "", ".. segment"},
		{"mlflow-artifacts:/1/abc/artifacts", "a\\..\\b", "", "backslash"},
		{"mlflow-artifacts:/1/abc/artifacts", "a\x00b", "", "NUL"},
		{"mlflow-artifacts:/1/../2/artifacts", "x", "", ".. segment"},
	}
	for _, tc := range tests {
		route, _, err := proxiedRoute(tc.uri, tc.rel)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("proxiedRoute(%q, %q) err = %v, want %q", tc.uri, tc.rel, err, tc.wantErr)
			}
			continue
		}
		if err != nil || route != tc.wantRoute {
			t.Errorf("proxiedRoute(%q, %q) = %q, %v; want %q", tc.uri, tc.rel, route, err, tc.wantRoute)
		}
	}
}

func TestDownloadMissingArtifactIsNotFoundAndNotRetried(t *testing.T) {
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(500)
		// What MLflow 3.7's local artifact store answers.
		io.WriteString(w, `{"error_code": "INTERNAL_ERROR", "message": "The following failures occurred while downloading one or more artifacts from /tmp/art:\n##### File 1/r/artifacts/x #####\n[Errno 2] No such file or directory: '/tmp/art/1/r/artifacts/x'"}`)
	}))
	var buf bytes.Buffer
	_, err := c.Artifacts.Download(context.Background(), "mlflow-artifacts:/1/r/artifacts", "x", &buf)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d requests, want 1 (a missing file is final)", got)
	}
}

func TestDownloadRetriesTransient500(t *testing.T) {
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway</html>")
			return
		}
		io.WriteString(w, "content")
	}))
	var buf bytes.Buffer
	size, err := c.Artifacts.Download(context.Background(), "mlflow-artifacts:/1/r/artifacts", "x", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != "content" || size != 7 || n.Load() != 2 {
		t.Errorf("got %q (%d bytes) after %d requests", buf.String(), size, n.Load())
	}
}

func TestUploadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"MLmodel":           "flavors: {}\n",
		"model.ubj":         "\x00\x01binary",
		"stack/weights.bin": "w",
		"stack/deep/a b":    "space",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string]string{}
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "PUT" {
			t.Errorf("method %s", r.Method)
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.EscapedPath()] = string(b)
		mu.Unlock()
		io.WriteString(w, "{}")
	}))
	n, err := c.Artifacts.UploadDir(context.Background(), "mlflow-artifacts:/1/r/artifacts", "model", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/MLmodel":           "flavors: {}\n",
		"/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/model.ubj":         "\x00\x01binary",
		"/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/stack/weights.bin": "w",
		"/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/stack/deep/a%20b":  "space",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("uploads (-want +got):\n%s", diff)
	}
	if n != 4 {
		t.Errorf("UploadDir = %d files, want 4", n)
	}
}

func TestListRelativePaths(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("path"); got != "1/r/artifacts/model" {
			t.Errorf("path = %q", got)
		}
		io.WriteString(w, `{"files":[{"path":"MLmodel","is_dir":false,"file_size":120},{"path":"stack","is_dir":true}]}`)
	}))
	files, err := c.Artifacts.List(context.Background(), "mlflow-artifacts:/1/r/artifacts", "model/")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	want := []FileInfo{{Path: "model/MLmodel", FileSize: 120}, {Path: "model/stack", IsDir: true}}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestDownloadKeepsErrorAfterRetries(t *testing.T) {
	h := &countingHandler{statuses: []int{503}}
	c := newTestClient(t, h)
	_, err := c.Artifacts.Download(context.Background(), "mlflow-artifacts:/1/r/artifacts", "x", io.Discard)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 || ae.Message != "busy" {
		t.Fatalf("err = %v, want the server's 503 message after the retries", err)
	}
	if got := h.count(); got != 4 {
		t.Errorf("%d requests, want 4", got)
	}
}
