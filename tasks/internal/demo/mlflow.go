package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// mlflowServer returns the tracking URI to use: MLFLOW_TRACKING_URI when
// set, else a local `mlflow server` (sqlite backend, proxied artifacts,
// 127.0.0.1) under DEMO_DIR/mlflow, started detached so the UI stays up
// after the demo, and reused by the next run while it answers.
func mlflowServer(ctx context.Context, cfg Config, stderr io.Writer) (string, error) {
	if uri := os.Getenv("MLFLOW_TRACKING_URI"); uri != "" {
		return uri, nil
	}
	dir, err := filepath.Abs(filepath.Join(cfg.Dir, "mlflow"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		return "", err
	}
	urlFile := filepath.Join(dir, "server.url")
	if b, err := os.ReadFile(urlFile); err == nil {
		uri := strings.TrimSpace(string(b))
		if healthy(ctx, uri) {
			fmt.Fprintf(stderr, "demo: reusing mlflow server at %s\n", uri)
			return uri, nil
		}
	}
	bin := cfg.MLflow
	if bin == "" {
		bin = "mlflow"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	uri := fmt.Sprintf("http://127.0.0.1:%d", port)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return "", err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "server", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		"--serve-artifacts", "--artifacts-destination", filepath.Join(dir, "artifacts"), "--workers", "1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives the demo: the UI stays up
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("demo: start mlflow server (%s): %w", bin, err)
	}
	os.WriteFile(filepath.Join(dir, "server.pid"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o644)
	fmt.Fprintf(stderr, "demo: starting mlflow server at %s (log %s)\n", uri, logf.Name())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(4 * time.Minute)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if healthy(ctx, uri) {
			os.WriteFile(urlFile, []byte(uri+"\n"), 0o644)
			return uri, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("demo: mlflow server exited: %v (see %s)", err, logf.Name())
		case <-ctx.Done():
			return "", ctx.Err()
		case <-tick.C:
		}
	}
	return "", fmt.Errorf("demo: mlflow server not healthy after 4 minutes (see %s)", logf.Name())
}

func healthy(ctx context.Context, uri string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
