// Package testenv is the project's one test kit for real peers: it finds
// the programs `make setup` installs (the project venv's python and mlflow,
// versitygw, Chromium) at their default places, and starts versitygw (an S3
// gateway over a local folder) for temporary S3 lakes. Every test of the
// module uses it, so `go test ./...` works right after `make setup` with no
// variable exported. A missing peer fails the test with a message saying how
// to get it; nothing is skipped silently.
package testenv

import (
	"bytes"
	"context"
	"fmt"
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

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// The peers' environment variables: each overrides the default place.
const (
	EnvPython    = "TELCO_PYTHON"    // default <module root>/.venv/bin/python
	EnvMLflow    = "TELCO_MLFLOW"    // default <module root>/.venv/bin/mlflow
	EnvVersitygw = "TELCO_VERSITYGW" // default <cache>/bin/versitygw
	EnvChromium  = "TELCO_CHROMIUM"  // default chromium on PATH, then /usr/bin/chromium
	EnvCache     = "TELCO_CACHE"     // default $HOME/.cache/telcotraffic, as in .ci/setup
)

// Python returns the interpreter of the project venv (deltalake, xgboost,
// mlflow, statsforecast, safetensors).
func Python(tb testing.TB) string { tb.Helper(); return Peer(tb, EnvPython) }

// MLflow returns the project venv's mlflow command.
func MLflow(tb testing.TB) string { tb.Helper(); return Peer(tb, EnvMLflow) }

// Versitygw returns the versitygw binary .ci/setup built.
func Versitygw(tb testing.TB) string { tb.Helper(); return Peer(tb, EnvVersitygw) }

// Chromium returns headless Chromium (Debian's package).
func Chromium(tb testing.TB) string { tb.Helper(); return Peer(tb, EnvChromium) }

// Peer returns the program named by environment variable name when it is
// set, else the program at the place `make setup` installs it. It fails the
// test, saying how to get the peer, when there is none.
func Peer(tb testing.TB, name string) string {
	tb.Helper()
	p, err := PeerPath(name)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// PeerPath is Peer for code without a testing.TB (benchmark scripts).
func PeerPath(name string) (string, error) {
	p := os.Getenv(name)
	from := name
	if p == "" {
		var err error
		if p, err = defaultPeer(name); err != nil {
			return "", err
		}
		from = "default for " + name
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("testenv: %s (%s): %w: run `make setup` (.ci/setup installs it) or set %s", p, from, err, name)
	}
	return p, nil
}

func defaultPeer(name string) (string, error) {
	switch name {
	case EnvPython, EnvMLflow:
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		return filepath.Join(root, ".venv", "bin", map[string]string{EnvPython: "python", EnvMLflow: "mlflow"}[name]), nil
	case EnvVersitygw:
		return filepath.Join(cacheDir(), "bin", "versitygw"), nil
	case EnvChromium:
		for _, c := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
			if p, err := exec.LookPath(c); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("testenv: chromium not found: install the Debian package chromium (.ci/setup does) or set %s", name)
	}
	return "", fmt.Errorf("testenv: no default place for %s: set it", name)
}

func cacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "telcotraffic")
}

// ModuleRoot returns the folder holding go.mod, found upwards from the
// working directory (a test runs in its package's folder).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Gateway is a running versitygw.
type Gateway struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Dir       string // the posix backend folder; buckets are subfolders

	bin, addr, logDir string
	cmd               *exec.Cmd
	exited            chan error
	logf              *os.File
}

// start runs versitygw on g.addr and waits until it answers.
func (g *Gateway) start() error {
	cmd := exec.Command(g.bin, "--access", g.AccessKey, "--secret", g.SecretKey, "--port", g.addr, "posix", g.Dir)
	logf, _ := os.OpenFile(filepath.Join(g.logDir, "versitygw.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start versitygw: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitHTTP("http://"+g.addr, exited, 20*time.Second); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		logf.Close()
		return err
	}
	g.cmd, g.exited, g.logf = cmd, exited, logf
	return nil
}

// Stop kills the gateway (an outage: connections are refused).
func (g *Gateway) Stop() {
	if g.cmd == nil {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGCONT) // a frozen process cannot die
	_ = g.cmd.Process.Kill()
	<-g.exited
	g.logf.Close()
	g.cmd = nil
}

// Restart starts a stopped gateway again on the same address and folder.
func (g *Gateway) Restart() error { return g.start() }

// Freeze stops the gateway process (SIGSTOP): connections are accepted by
// the kernel but never answered, as with a hung server.
func (g *Gateway) Freeze() {
	_ = g.cmd.Process.Signal(syscall.SIGSTOP)
	waitStopped(g.cmd.Process.Pid)
}

// Thaw resumes a frozen gateway (SIGCONT).
func (g *Gateway) Thaw() { _ = g.cmd.Process.Signal(syscall.SIGCONT) }

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
	bin := Versitygw(tb)
	dir := tb.TempDir()
	g := &Gateway{AccessKey: "telcoaccess", SecretKey: "telcosecret12345", Dir: filepath.Join(dir, "s3"), bin: bin, logDir: dir}
	if err := os.MkdirAll(g.Dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		g.addr = "127.0.0.1:" + strconv.Itoa(freePort(tb))
		g.Endpoint = "http://" + g.addr
		if lastErr = g.start(); lastErr == nil {
			tb.Cleanup(g.Stop)
			return g
		}
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

// waitStopped waits until every thread of process pid is stopped (state
// T in /proc/PID/task/*/stat): SIGSTOP is delivered asynchronously, and a
// request sent right after it could still be answered.
func waitStopped(pid int) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		stats, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
		running := false
		for _, p := range stats {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			// tid (comm) state ...: comm may hold spaces.
			if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] != "T" && f[0] != "t" {
				running = true
			}
		}
		if !running {
			return
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

// StartS3 starts versitygw (stopped in tb.Cleanup), creates bucket and
// returns the gateway and storage options that reach any s3://bucket/…
// URI on it: a temporary S3 lake for tests of every package.
func StartS3(tb testing.TB, bucket string) (*Gateway, storage.Options) {
	tb.Helper()
	g := StartGateway(tb)
	g.Bucket(tb, bucket, "")
	o := g.Options(bucket, "")
	o.Bucket, o.Prefix = "", ""
	return g, storage.Options{S3: o}
}
