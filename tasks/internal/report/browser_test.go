package report

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
)

// chartInfo is what a chart's ECharts instance says about itself, read in
// the page through echarts.getInstanceByDom(el).getOption().
type chartInfo struct {
	ID       string `json:"id"`
	Rendered bool   `json:"rendered"`
	Series   []struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Points int    `json:"points"` // data items that are not null
	} `json:"series"`
}

// pageState is what a loaded page left behind.
type pageState struct {
	Console  []chromedp.ConsoleMessage
	Requests []string // URLs the page asked for, its own included
	Charts   []chartInfo
	Report   struct {
		Errors   []string `json:"errors"`
		Charts   int      `json:"charts"`
		RenderMs float64  `json:"renderMs"`
		Ready    bool     `json:"ready"`
	}
	// PaintedMs is the time from the start of the navigation to the second
	// animation frame after the load event: the charts are on screen.
	PaintedMs float64
	Text      string // document.body.innerText
}

const chartsJS = `Array.from(document.querySelectorAll(".chart")).map(function (el) {
  var c = echarts.getInstanceByDom(el);
  if (!c) return {id: el.id, rendered: false, series: []};
  var o = c.getOption();
  return {id: el.id, rendered: true, series: (o.series || []).map(function (s) {
    var n = (s.data || []).filter(function (v) {
      if (v === null || v === undefined) return false;
      if (Array.isArray(v)) return v[v.length - 1] !== null && v[1] !== null;
      if (typeof v === "object" && "value" in v) return v.value !== null;
      return true;
    }).length;
    return {name: s.name, type: s.type, points: n};
  })};
})`

const paintedJS = `new Promise(function (ok) {
  requestAnimationFrame(function () { requestAnimationFrame(function () { ok(performance.now()); }); });
})`

// browser starts headless Chromium with the flags the tests use and
// returns a chromedp context on a new tab of it.
func browser(t testing.TB, width, height int) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(trackingtest.Chromium(t)),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	tctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelT)
	// Start the browser and its tab now, on the test's context: the event
	// subscriptions of load run on shorter-lived contexts.
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tctx
}

// load opens url in the tab of ctx and reads the page's state after its
// charts are painted.
func load(t testing.TB, ctx context.Context, url string) pageState {
	t.Helper()
	var st pageState
	sub, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	var wg sync.WaitGroup
	console := chromedp.Console(sub)
	requests := chromedp.Events(sub, network.RequestWillBeSent)
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			st.Console = append(st.Console, m)
			mu.Unlock()
		}
	})
	wg.Go(func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			mu.Lock()
			st.Requests = append(st.Requests, ev.Request.URL)
			mu.Unlock()
		}
	})
	err := chromedp.Do(ctx, chromedp.Navigate(url))
	if err == nil {
		st.PaintedMs, err = chromedp.Run(ctx, chromedp.Evaluate[float64](paintedJS, awaitPromise))
	}
	var raw []byte
	if err == nil {
		raw, err = chromedp.Run(ctx, chromedp.Evaluate[[]byte](`window.report || {}`))
	}
	if err == nil {
		err = json.Unmarshal(raw, &st.Report)
	}
	if err == nil {
		raw, err = chromedp.Run(ctx, chromedp.Evaluate[[]byte](chartsJS))
	}
	if err == nil {
		err = json.Unmarshal(raw, &st.Charts)
	}
	if err == nil {
		st.Text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	}
	// Let late events arrive, then end the subscriptions.
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	return st
}

func awaitPromise(p *runtime.EvaluateParams) { t := true; p.AwaitPromise = &t }

// checkClean fails on console errors, exceptions, script errors of the
// page and on any request but the page's own file.
func checkClean(t *testing.T, st pageState, url string) {
	t.Helper()
	for _, m := range st.Console {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleException:
			t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
		default:
			t.Logf("console %s: %s", m.Type, m.Text)
		}
	}
	own := false
	for _, r := range st.Requests {
		if r != url {
			t.Errorf("the page requested %s", r)
		}
		own = own || r == url
	}
	if !own {
		t.Errorf("no request for the page itself among %q: the network events were not seen", st.Requests)
	}
	if !st.Report.Ready || len(st.Report.Errors) > 0 {
		t.Errorf("page script: ready %v, errors %q", st.Report.Ready, st.Report.Errors)
	}
}

// artifactsDir is where screenshots are kept: $TELCO_TEST_ARTIFACTS/<test>
// if set (make test sets it to .test-artifacts), else a temporary folder.
func artifactsDir(t testing.TB) string {
	if d := os.Getenv("TELCO_TEST_ARTIFACTS"); d != "" {
		dir := filepath.Join(d, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

var sections = []string{"traffic", "forecast", "classifier", "usage", "drift", "lineage"}

// screenshots saves a PNG of each section and of the whole page into dir,
// names prefixed with prefix.
func screenshots(t *testing.T, ctx context.Context, dir, prefix string) {
	t.Helper()
	for _, s := range sections {
		png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID(s)))
		if err != nil {
			t.Fatalf("screenshot of #%s: %v", s, err)
		}
		if err := os.WriteFile(filepath.Join(dir, prefix+s+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"page.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writePage(t testing.TB, d *Data) (string, int) {
	t.Helper()
	page, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := Write(context.Background(), path, page, storageOptions); err != nil {
		t.Fatal(err)
	}
	return path, len(page)
}

// TestBrowser renders the report of the test lake and a real MLflow server
// in headless Chromium from a file:// URL: no console errors, no requests
// but the page itself, every chart drew its series; screenshots of each
// section (light, dark, phone) go to $TELCO_TEST_ARTIFACTS.
func TestBrowser(t *testing.T) {
	lake := t.TempDir()
	writeLake(t, lake, storageOptions, allTables)
	mc := mlflowFixture(t)
	d, err := Build(t.Context(), Config{Lake: lake, Now: fixedNow, MLflow: mc})
	if err != nil {
		t.Fatal(err)
	}
	if res := d.Result("x", 0); len(res.Absent) != 0 {
		t.Fatalf("absent sections %v", res.Absent)
	}
	checkMLflowSections(t, d)
	path, size := writePage(t, d)
	url := "file://" + path
	ctx := browser(t, 1280, 900)
	st := load(t, ctx, url)
	checkClean(t, st, url)
	t.Logf("page %d bytes, script %.0f ms, painted at %.0f ms", size, st.Report.RenderMs, st.PaintedMs)

	want := map[string][]string{ // chart → series it must draw
		"traffic-categories":   seriesNames(d.Traffic.Categories),
		"traffic-apps":         seriesNames(d.Traffic.Apps),
		"traffic-wow":          {"share change"},
		"forecast-total":       {"lower 95", "95 % interval", "lower 80", "80 % interval", "forecast", "actual"},
		"forecast-category":    {"lower 95", "95 % interval", "lower 80", "80 % interval", "forecast", "actual"},
		"classifier-weeks":     {"macro-F1 sni", "accuracy sni", "macro-F1 no-sni", "accuracy no-sni"},
		"classifier-weakest":   {"F1"},
		"classifier-confusion": {"share of the true category"},
		"usage-shares":         {"estimated", "true"},
		"usage-error":          {"mean absolute share error"},
		"drift-timeline":       {"kl", "psi", "share_shift", "alerts"},
	}
	got := map[string]chartInfo{}
	for _, c := range st.Charts {
		got[c.ID] = c
	}
	for id, names := range want {
		c, ok := got[id]
		if !ok || !c.Rendered {
			t.Errorf("chart %s: not rendered (%+v)", id, c)
			continue
		}
		var have []string
		for _, s := range c.Series {
			have = append(have, s.Name)
			if s.Points == 0 {
				t.Errorf("chart %s: series %q has no points", id, s.Name)
			}
		}
		if strings.Join(have, "|") != strings.Join(names, "|") {
			t.Errorf("chart %s: series %q, want %q", id, have, names)
		}
	}
	if len(st.Charts) != len(want) || st.Report.Charts != len(want) {
		t.Errorf("%d chart elements, %d charts drawn; want %d", len(st.Charts), st.Report.Charts, len(want))
	}
	fc := got["forecast-total"]
	if n := fc.Series[5].Points; n < actualDays*24 { // actual
		t.Errorf("forecast-total draws %d actual hours, want at least %d", n, actualDays*24)
	}
	for _, text := range []string{"traffic_hourly", "Delta version read", "2022-W07", DefaultModel + " version 1 (champion)",
		"forecast-2022-02-24", "flow_features@3", "app:google-www", "first seen"} {
		if !strings.Contains(st.Text, text) {
			t.Errorf("page text lacks %q", text)
		}
	}
	if t.Failed() {
		t.Logf("page text:\n%s", st.Text)
	}
	dir := artifactsDir(t)
	screenshots(t, ctx, dir, "light-")

	// Dark: the page follows prefers-color-scheme and redraws its charts.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if err != nil || bg != "rgb(20, 22, 26)" {
		t.Errorf("dark background %q, %v", bg, err)
	}
	screenshots(t, ctx, dir, "dark-")

	// A phone: one column, nothing wider than the screen.
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the page redraws 100 ms after a resize
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil || wide > 390 {
		over, _ := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`Array.from(document.querySelectorAll("body *")).filter(function (e) {
			return e.getBoundingClientRect().right > 391; }).slice(0, 8).map(function (e) { return e.tagName + "#" + e.id + "." + e.className; })`))
		t.Errorf("on a 390 px phone the page is %v px wide (%v); wider: %s", wide, err, over)
	}
	screenshots(t, ctx, dir, "phone-")
	t.Logf("screenshots in %s", dir)
}

// TestBrowserAbsent renders the report of an empty lake without MLflow:
// no errors, no charts, and every section says what is missing.
func TestBrowserAbsent(t *testing.T) {
	lake := t.TempDir()
	d, err := Build(t.Context(), Config{Lake: lake, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	path, _ := writePage(t, d)
	url := "file://" + path
	ctx := browser(t, 1280, 900)
	st := load(t, ctx, url)
	checkClean(t, st, url)
	if len(st.Charts) != 0 {
		t.Errorf("charts on the page of an empty lake: %+v", st.Charts)
	}
	for _, table := range Tables {
		if !strings.Contains(st.Text, fmt.Sprintf("Table %s does not exist yet", table)) && table != HourlyTable {
			t.Errorf("page does not say %s is absent", table)
		}
	}
	for _, text := range []string{"Table traffic_hourly does not exist yet", "MLflow is not configured", "No traffic_hourly to look for new services"} {
		if !strings.Contains(st.Text, text) {
			t.Errorf("page text lacks %q", text)
		}
	}
	screenshots(t, ctx, artifactsDir(t), "")
}

// TestBrowserSeesRequestsAndErrors: the checks of checkClean are not
// vacuous: a page that fetches an image and logs an error shows both.
func TestBrowserSeesRequestsAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.html")
	html := `<!doctype html><img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); window.report = {ready: true}</script>`
	if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, 800, 600)
	st := load(t, ctx, "file://"+path)
	var sawImg, sawErr bool
	for _, r := range st.Requests {
		sawImg = sawImg || r == "http://127.0.0.1:9/x.png"
	}
	for _, m := range st.Console {
		sawErr = sawErr || m.Type == chromedp.ConsoleError && strings.Contains(m.Text, "boom")
	}
	if !sawImg || !sawErr {
		t.Errorf("request seen %v (%q), console error seen %v (%v)", sawImg, st.Requests, sawErr, st.Console)
	}
}

func seriesNames(ss []Series) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func checkMLflowSections(t *testing.T, d *Data) {
	t.Helper()
	c := d.Classifier
	if c.Version != "1" || c.Alias != "champion" || c.Window != "2022-W08" || c.Data != "flow_features@3" || len(c.Weeks) != 2 {
		t.Errorf("classifier %+v", c)
	}
	if len(c.Variants) != 2 || len(c.Weakest) != 12 || c.Weakest[0].F1 > c.Weakest[1].F1 {
		t.Errorf("variants %d, weakest %+v", len(c.Variants), c.Weakest)
	}
	var total int64
	for _, row := range c.Confusion.Matrix {
		for _, n := range row {
			total += n
		}
	}
	if total != 7*50+10*21+7*3+21 || !strings.Contains(strings.Join(c.Confusion.Labels, ","), "unknown") {
		t.Errorf("category confusion %+v (total %d)", c.Confusion, total)
	}
	l := d.Lineage
	if len(l.Versions) != 1 || l.Versions[0].Tables["flow_features"] != 3 || !strings.Contains(l.Versions[0].URL, "/#/models/") ||
		l.Versions[0].RunURL == "" || strings.Join(l.Versions[0].Aliases, ",") != "champion" {
		t.Errorf("lineage versions %+v", l.Versions)
	}
	if len(l.Runs) != 1 || l.Runs[0].Inputs[HourlyTable] != 1 || l.Runs[0].Outputs[ForecastsTable] != 1 || l.Runs[0].Kind != "forecaster" {
		t.Errorf("lineage runs %+v", l.Runs)
	}
}
