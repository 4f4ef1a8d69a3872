// Package trackingtest holds what the tracking tests need besides the
// `mlflow server` of [mlflowtest]: a Tracker on such a server configured the
// way a task reads its environment, and headless Chromium to render pages of
// the server's UI.
package trackingtest

import (
	"context"
	"fmt"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"html"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/mlflowclient/mlflowtest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// Tracker starts an mlflow server (see [mlflowtest.Start]) and returns the
// configuration a task reads from its environment when MLFLOW_TRACKING_URI
// points at that server and MLFLOW_EXPERIMENT_NAME is experiment, with a
// Tracker on it.
func Tracker(t testing.TB, experiment string) (tracking.Config, *tracking.Tracker) {
	t.Helper()
	srv := mlflowtest.Start(t)
	cfg, err := tracking.ConfigFromEnv(func(k string) string {
		return map[string]string{"MLFLOW_TRACKING_URI": srv.URL, "MLFLOW_EXPERIMENT_NAME": experiment}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tracking.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, tr
}

// Chromium finds headless Chromium ($TELCO_CHROMIUM, else chromium on PATH
// or /usr/bin/chromium; see testenv.Chromium). It fails the test when there
// is none.
func Chromium(t testing.TB) string {
	t.Helper()
	return testenv.Chromium(t)
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
