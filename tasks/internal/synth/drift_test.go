package synth

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
)

// TestDriftCalendar checks the per-app drift calendar: deterministic,
// within the year, about half the small services and every large one
// drifting, each event in the manifest.
func TestDriftCalendar(t *testing.T) {
	a, b := DefaultDrifts(), DefaultDrifts()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("calendar differs between calls:\n%s", diff)
	}
	w := getWorld()
	apps := map[string]bool{}
	kinds := map[string]int{}
	for _, d := range a {
		app, ok := w.byName[d.App]
		switch {
		case !ok || !app.active:
			t.Errorf("%s: not an active app", d.App)
		case d.From.Year() != 2022 || d.To.Before(d.From):
			t.Errorf("%s %s: from %s to %s", d.App, d.Kind, d.From, d.To)
		}
		apps[d.App] = true
		kinds[d.Kind]++
	}
	active := 0
	for _, app := range w.apps {
		if app.active {
			active++
		}
		if app.active && app.share >= 0.5 && !apps[app.name] && !slices.Contains([]string{"docker-registry", "tinder", "facebook-graph", "spotify"}, app.name) {
			t.Errorf("large service %s (%.2f %%) never drifts", app.name, app.share)
		}
	}
	if frac := float64(len(apps)) / float64(active); frac < 0.5 || frac > 0.85 {
		t.Errorf("%d of %d active services drift (%.2f)", len(apps), active, frac)
	}
	for _, k := range []string{KindClientUpdate, KindCDNMove, KindAppUpdate, KindServiceFade} {
		if kinds[k] == 0 {
			t.Errorf("no %s event", k)
		}
	}
	m := buildManifest(Config{Start: day("2022-01-01"), Days: 365, Script: DefaultScript()}, w)
	n := 0
	for _, e := range m.Events {
		if _, ok := kinds[e.Kind]; ok {
			n++
		}
	}
	if n != len(a) {
		t.Errorf("manifest lists %d per-app drifts, calendar has %d", n, len(a))
	}
}

// TestClientUpdateApplies checks a sudden client update on generated
// flows: the app's flows carry the new JA3 from its first day on, never
// before.
func TestClientUpdateApplies(t *testing.T) {
	var ev *AppDrift
	w := getWorld()
	for _, d := range DefaultDrifts() {
		if d.Kind == KindClientUpdate && d.To.Equal(d.From) && w.byName[d.App].share >= 1 && d.From.Month() > 1 {
			ev = &d
			break
		}
	}
	if ev == nil {
		t.Fatal("no sudden client update of a large service in the calendar")
	}
	count := func(d time.Time) (flows, updated int) {
		flowsOf(t, d, 20000, func(f *cesnet.Flow) {
			if f.App == ev.App {
				flows++
				if f.TLSJA3 == ev.JA3 {
					updated++
				}
			}
		})
		return flows, updated
	}
	if n, u := count(ev.From.AddDate(0, 0, -1)); n == 0 || u != 0 {
		t.Errorf("%s the day before its update (%s): %d of %d flows with the new JA3", ev.App, ev.From.Format(dayLayout), u, n)
	}
	if n, u := count(ev.From); n == 0 || u != n {
		t.Errorf("%s on its update day: %d of %d flows with the new JA3", ev.App, u, n)
	}
}
