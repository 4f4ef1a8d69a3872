// Package mlflowtest runs a real `mlflow server` for tests: the project
// venv's mlflow (TELCO_MLFLOW) on a free port of 127.0.0.1, with a SQLite
// backend and proxied artifacts in a temporary directory. It does not import
// mlflowclient, so the client's own tests can use it; peers are found by
// lakehouse/testenv, the project's one peer lookup.
package mlflowtest

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

// Server is a running `mlflow server`.
type Server struct {
	URL     string        // http://127.0.0.1:<port>
	Dir     string        // backend DB, artifacts and server.log
	Startup time.Duration // process start to /health OK

	pgid int
}

// Freeze stops the server's processes (SIGSTOP): connections are accepted
// by the kernel but never answered, as with a hung server.
func (s *Server) Freeze() {
	_ = syscall.Kill(-s.pgid, syscall.SIGSTOP)
	waitStopped(s.pgid)
}

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() { _ = syscall.Kill(-s.pgid, syscall.SIGCONT) }

// Env returns the environment for a Python peer talking to the server.
func (s *Server) Env() []string {
	return append(os.Environ(), "MLFLOW_TRACKING_URI="+s.URL, "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
}

// LogTail returns the end of the server's log, for failure messages.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Peer returns the peer program named by environment variable name
// (TELCO_MLFLOW, TELCO_PYTHON, ...) or at its default place; see testenv.Peer.
func Peer(t testing.TB, name string) string {
	t.Helper()
	return testenv.Peer(t, name)
}

// Start runs `$TELCO_MLFLOW server`, waits until /health answers and stops
// the server's process group when the test ends. It fails the test, with the
// end of the server's log, when the server exits or is not healthy in time.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Peer(t, "TELCO_MLFLOW")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String() // 127.0.0.1:<free port>
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)

	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "server",
		"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(dir, "mlartifacts"),
		"--serve-artifacts",
		"--host", "127.0.0.1", "--port", port,
		"--workers", "1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	cmd.Stdout, cmd.Stderr = logf, logf
	// mlflow server starts uvicorn as a child: stop the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{}) // closed when the process is reaped
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Also reaps uvicorn if the parent died first; a frozen group
		// must be resumed to die.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
	})

	s := &Server{URL: "http://" + addr, Dir: dir, pgid: cmd.Process.Pid}
	hc := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	// Python start-up on busy shared cores has been seen to take 40 s.
	deadline := time.After(4 * time.Minute)
	for {
		select {
		case <-exited:
			t.Fatalf("mlflow server exited before it was ready: %v\n%s", waitErr, s.LogTail())
		case <-deadline:
			t.Fatalf("mlflow server not healthy after 4 minutes\n%s", s.LogTail())
		case <-tick.C:
		}
		resp, err := hc.Get(s.URL + "/health")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			s.Startup = time.Since(start)
			t.Logf("mlflow server ready at %s after %v", s.URL, s.Startup.Round(time.Millisecond))
			return s
		}
	}
}

// waitStopped waits until every thread of every process of the group pgid
// is stopped (state T in /proc/*/task/*/stat): SIGSTOP is delivered
// asynchronously, and a request sent right after it could still be
// answered.
func waitStopped(pgid int) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		stats, _ := filepath.Glob("/proc/[0-9]*/task/*/stat")
		running := false
		for _, p := range stats {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			// tid (comm) state ppid pgrp ...: comm may hold spaces.
			f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
			if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "T" && f[0] != "t" && f[0] != "Z" {
				running = true
			}
		}
		if !running {
			return
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}
