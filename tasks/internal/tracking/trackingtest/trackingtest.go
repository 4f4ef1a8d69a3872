// Package trackingtest starts the real peers the tracking tests need: an
// `mlflow server` (from TELCO_MLFLOW) on 127.0.0.1 with a SQLite backend and
// proxied artifacts in a temporary directory, and headless Chromium to
// render pages of its UI.
package trackingtest

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running `mlflow server`.
type Server struct {
	URL     string        // http://127.0.0.1:<port>
	Dir     string        // backend DB, artifacts and server.log
	Startup time.Duration // process start to /health OK
}

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

// Peer returns the path in environment variable name, or fails the test with
// a message saying how to get it.
func Peer(t testing.TB, name string) string {
	t.Helper()
	p := os.Getenv(name)
	if p == "" {
		t.Fatalf("%s not set: run `make test` or .ci/setup (it points at the project venv's binary)", name)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v (run .ci/setup)", name, p, err)
	}
	return p
}

// StartServer runs `$TELCO_MLFLOW server` on a free port of 127.0.0.1,
// waits until /health answers and stops the server's process group when the
// test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := Peer(t, "TELCO_MLFLOW")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "server",
		"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(dir, "mlartifacts"),
		"--serve-artifacts",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
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
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
	})

	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: dir}
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

// Chromium finds headless Chromium: $TELCO_CHROMIUM, else chromium on PATH
// or /usr/bin/chromium. It fails the test when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TELCO_CHROMIUM"); p != "" {
		return Peer(t, "TELCO_CHROMIUM")
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: install the Debian package (apt-get install -y chromium, listed in .ci/setup) or set TELCO_CHROMIUM")
	return ""
}

// Page is a page rendered by headless Chromium.
type Page struct {
	DOM        string // the DOM after scripts ran, as HTML
	Screenshot string // PNG file, if one was asked for
}

// Render loads url in headless Chromium with a profile of its own in a
// window of size ("1400,1000"; the UI renders charts only when they are in
// view), lets its scripts run for budget of virtual time and returns the DOM.
// When shot is not empty it also saves a screenshot there (a second load).
func Render(ctx context.Context, t testing.TB, chromium, url, size string, budget time.Duration, shot string) Page {
	t.Helper()
	run := func(extra ...string) []byte {
		args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--hide-scrollbars",
			"--user-data-dir=" + t.TempDir(), "--window-size=" + size,
			fmt.Sprintf("--virtual-time-budget=%d", budget.Milliseconds())}
		cmd := exec.CommandContext(ctx, chromium, append(append(args, extra...), url)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %s: %v\n%s", url, err, tail(stderr.String(), 3000))
		}
		return out
	}
	p := Page{DOM: string(run("--dump-dom"))}
	if shot != "" {
		run("--screenshot=" + shot)
		if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
			t.Fatalf("chromium wrote no screenshot %s: %v", shot, err)
		}
		p.Screenshot = shot
	}
	return p
}

// RenderUntil renders url with growing virtual-time budgets (15, 30, 60 s)
// until the page's visible text contains every string of want, and returns
// that page with a screenshot saved at shot (if not empty). It fails the
// test, listing what is missing, when the last budget is not enough.
func RenderUntil(ctx context.Context, t testing.TB, chromium, url, size string, want []string, shot string) Page {
	t.Helper()
	var missing []string
	var text string
	for _, budget := range []time.Duration{15 * time.Second, 30 * time.Second, 60 * time.Second} {
		p := Render(ctx, t, chromium, url, size, budget, "")
		text = Text(p.DOM)
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			if shot != "" {
				p = Render(ctx, t, chromium, url, size, budget, shot)
			}
			return p
		}
		t.Logf("%s after %v of virtual time lacks %q; trying longer", url, budget, missing)
	}
	t.Fatalf("%s never showed %q; visible text:\n%s", url, missing, tail(text, 3000))
	return Page{}
}

var (
	hiddenRE = regexp.MustCompile(`(?is)<(script|style|noscript)\b.*?</(script|style|noscript)>`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE  = regexp.MustCompile(`\s+`)
)

// Text returns the visible text of an HTML document, whitespace collapsed
// and entities decoded.
func Text(dom string) string {
	s := hiddenRE.ReplaceAllString(dom, " ")
	s = tagRE.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
