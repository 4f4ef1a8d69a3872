// Package testenv starts the real peers the lakehouse tests run against:
// versitygw (an S3 gateway over a local folder) and the Python venv with
// delta-rs. A missing peer fails the test with a message saying how to get
// it; nothing is skipped silently.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Python returns the interpreter of the venv holding deltalake.
func Python(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("TELCO_PYTHON")
	if p == "" {
		tb.Fatal("TELCO_PYTHON not set: run `make test` or .ci/setup and export TELCO_PYTHON=/work/main/.venv/bin/python")
	}
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("TELCO_PYTHON=%s: %v: run .ci/setup", p, err)
	}
	return p
}

// Gateway is a running versitygw.
type Gateway struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Dir       string // the posix backend folder; buckets are subfolders
}

// Options returns S3 options for a bucket on the gateway.
func (g *Gateway) Options(bucket, prefix string) storage.S3Options {
	return storage.S3Options{Bucket: bucket, Prefix: prefix, Endpoint: g.Endpoint, Region: "us-east-1",
		PathStyle: true, AccessKey: g.AccessKey, SecretKey: g.SecretKey}
}

// Bucket creates a bucket and returns a store on bucket/prefix.
func (g *Gateway) Bucket(tb testing.TB, bucket, prefix string) *storage.S3 {
	tb.Helper()
	s, err := storage.NewS3(context.Background(), g.Options(bucket, prefix))
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.CreateBucket(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Env returns AWS_* variables for a peer process (delta-rs) to reach the
// gateway.
func (g *Gateway) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + g.Endpoint, "AWS_ACCESS_KEY_ID=" + g.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + g.SecretKey, "AWS_REGION=us-east-1", "AWS_ALLOW_HTTP=true",
		"AWS_CONDITIONAL_PUT=etag", "AWS_S3_ALLOW_UNSAFE_RENAME=true",
	}
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartGateway starts versitygw on a free 127.0.0.1 port over a temporary
// folder, waits until it answers HTTP, and stops it in tb.Cleanup.
func StartGateway(tb testing.TB) *Gateway {
	tb.Helper()
	bin := os.Getenv("TELCO_VERSITYGW")
	if bin == "" {
		tb.Fatal("TELCO_VERSITYGW not set: run `make test` or .ci/setup and export TELCO_VERSITYGW=~/.cache/telcotraffic/bin/versitygw")
	}
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("TELCO_VERSITYGW=%s: %v: run .ci/setup", bin, err)
	}
	dir := tb.TempDir()
	g := &Gateway{AccessKey: "telcoaccess", SecretKey: "telcosecret12345", Dir: filepath.Join(dir, "s3")}
	if err := os.MkdirAll(g.Dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(tb)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(bin, "--access", g.AccessKey, "--secret", g.SecretKey, "--port", addr, "posix", g.Dir)
		logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("versitygw-%d.log", attempt)))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		g.Endpoint = "http://" + addr
		if lastErr = waitHTTP(g.Endpoint, exited, 20*time.Second); lastErr == nil {
			tb.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
				logf.Close()
			})
			return g
		}
		_ = cmd.Process.Kill()
		logf.Close()
	}
	tb.Fatalf("versitygw did not become ready: %v", lastErr)
	return nil
}

func waitHTTP(endpoint string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v", err)
		default:
		}
		resp, err := client.Get(endpoint)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond) // readiness poll interval, not a timing assumption
	}
	return fmt.Errorf("no answer from %s within %s", endpoint, timeout)
}
