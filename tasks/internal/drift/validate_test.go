package drift_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// scenario is a window of generated days around one scripted change: a
// reference window, a quiet week, then the change's first days.
type scenario struct {
	name     string
	event    string // manifest kind[:app]
	refFrom  string
	refDays  int
	quiet    int // quiet days after the reference
	after    int // days from the event's first day on
	eventDay string
}

// dayOutcome is the check of one day.
type dayOutcome struct {
	day string
	res *drift.Result
}

func mustDay(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(cesnet.DayLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runScenario generates the scenario's days, profiles the reference window
// and checks every later day in order, carrying the state as driftcheck
// does (without flow_predictions).
//
// With calendar false the per-app drift calendar (synth.DefaultDrifts) is
// left out, so the days besides the scenario's change are quiet.
func runScenario(t testing.TB, sc scenario, flowsPerDay int, th drift.Thresholds, calendar bool) ([]dayOutcome, synth.Manifest, *drift.Reference) {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	start := mustDay(t, sc.refFrom)
	days := sc.refDays + sc.quiet + sc.after
	script := synth.DefaultScript()
	if !calendar {
		script.Drifts = nil
	}
	if _, err := synth.Generate(ctx, synth.Config{Out: root, Start: start, Days: days, FlowsPerDay: flowsPerDay,
		Seed: 7, Compress: "none", Workers: 1, Script: script}); err != nil {
		t.Fatal(err)
	}
	var man synth.Manifest
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	src, err := classify.NewRawSource(root, featuredef.FeatureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	prof := drift.NewProfiler(drift.ProfileConfig{Seed: 1})
	refTo := start.AddDate(0, 0, sc.refDays-1)
	if err := src.Scan(ctx, start, refTo, func(r *tablerow.FlowFeatures) error { prof.Add(r); return nil }); err != nil {
		t.Fatal(err)
	}
	ref, err := prof.Reference(drift.ModelProfile{})
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON, as driftcheck reads it.
	if b, err = json.Marshal(ref); err != nil {
		t.Fatal(err)
	}
	if ref, err = drift.DecodeReference(b); err != nil {
		t.Fatal(err)
	}
	st := drift.NewState("test@1")
	var out []dayOutcome
	for d := refTo.AddDate(0, 0, 1); !d.After(start.AddDate(0, 0, days-1)); d = d.AddDate(0, 0, 1) {
		date := d.Format(cesnet.DayLayout)
		day := drift.NewDay(ref, date)
		if err := src.Scan(ctx, d, d, func(r *tablerow.FlowFeatures) error {
			if r.Day == date { // a day file holds a few rows of the previous UTC day
				day.AddFlow(r)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The state goes through JSON between days, as through drift_state.
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st = &drift.State{}
		if err := json.Unmarshal(b, st); err != nil {
			t.Fatal(err)
		}
		res, _ := drift.Check(ref, day, st, th)
		out = append(out, dayOutcome{day: date, res: res})
	}
	return out, man, ref
}

var scenarios = []scenario{
	{name: "peering", event: synth.KindPeeringChange, refFrom: "2022-01-17", refDays: 14, quiet: 7, after: 3, eventDay: "2022-02-07"},
	{name: "exporter", event: synth.KindExporterUpdate, refFrom: "2022-02-14", refDays: 14, quiet: 7, after: 3, eventDay: "2022-03-07"},
	{name: "new-service", event: synth.KindNewService + ":tinder", refFrom: "2022-05-16", refDays: 14, quiet: 7, after: 3, eventDay: "2022-06-06"},
	{name: "docker", event: synth.KindBehaviourChange + ":docker-registry", refFrom: "2022-06-20", refDays: 14, quiet: 7, after: 3, eventDay: "2022-07-11"},
}

func summarize(out []dayOutcome) string {
	var sb strings.Builder
	for _, o := range out {
		var subj []string
		for _, a := range o.res.Alerts {
			subj = append(subj, fmt.Sprintf("%s:%s(%.2f)", a.Kind, a.Subject, a.Score))
		}
		top := ""
		if len(o.res.TopFeatures) > 0 {
			top = fmt.Sprintf("%s %.3f", o.res.TopFeatures[0].Feature, o.res.TopFeatures[0].PSI)
		}
		att := ""
		if len(o.res.Attribution) > 0 {
			a := o.res.Attribution[0]
			att = fmt.Sprintf("%s/%s %.2f", a.App, a.Feature, a.PSI)
		}
		fmt.Fprintf(&sb, "%s flows %d retrain %v top[%s] app[%s] alerts %v\n", o.day, o.res.Flows, o.res.Retrain, top, att, subj)
	}
	return sb.String()
}

// detected returns the first day on or after the event with an alert that
// matches the event.
func detected(sc scenario, out []dayOutcome) (string, []drift.Alert) {
	for _, o := range out {
		if o.day < sc.eventDay {
			continue
		}
		var hits []drift.Alert
		for _, a := range o.res.Alerts {
			if matches(sc, a) {
				hits = append(hits, a)
			}
		}
		if len(hits) > 0 {
			return o.day, hits
		}
	}
	return "", nil
}

// matches says whether an alert points at the scripted change: for a
// change of one app, an alert on that app, its domains or new JA3 buckets;
// for network-wide changes, a feature shift.
func matches(sc scenario, a drift.Alert) bool {
	switch {
	case strings.HasPrefix(sc.event, synth.KindNewService):
		return a.Kind == drift.KindNewService && strings.Contains(a.Subject, "tinder") ||
			a.Kind == drift.KindShareChange && a.Subject == "app:tinder"
	case strings.HasPrefix(sc.event, synth.KindBehaviourChange):
		return strings.Contains(a.Subject, "docker") || a.Kind == drift.KindNewService && strings.HasPrefix(a.Subject, "ja3:")
	}
	return a.Kind == drift.KindFeatureShift
}

// TestScriptedChangesDetected runs every scenario on small generated data
// without the per-app drift calendar: no retrain on the quiet week after
// the reference, and the scripted change detected within 3 days of its
// first day (a new service on its first or second day).
func TestScriptedChangesDetected(t *testing.T) {
	flows := 20000
	if testing.Short() {
		flows = 8000
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			out, man, _ := runScenario(t, sc, flows, drift.DefaultThresholds(), false)
			t.Logf("%s:\n%s", sc.name, summarize(out))
			var ev *synth.Event
			for i, e := range man.Events {
				if k := e.Kind + ":" + e.App; strings.TrimSuffix(k, ":") == sc.event {
					ev = &man.Events[i]
				}
			}
			if ev == nil || ev.From != sc.eventDay || !ev.InRange {
				t.Fatalf("manifest has no in-range %s event from %s: %+v", sc.event, sc.eventDay, man.Events)
			}
			for _, o := range out[:sc.quiet] {
				if o.res.Retrain {
					t.Errorf("quiet day %s: retrain (%v)", o.day, o.res.Reasons)
				}
			}
			day, hits := detected(sc, out)
			limit := mustDay(t, sc.eventDay).AddDate(0, 0, 2).Format(cesnet.DayLayout)
			if strings.HasPrefix(sc.event, synth.KindNewService) {
				limit = mustDay(t, sc.eventDay).AddDate(0, 0, 1).Format(cesnet.DayLayout)
			}
			if day == "" || day > limit {
				t.Errorf("%s from %s: detected %q, want by %s", sc.event, sc.eventDay, day, limit)
			} else {
				t.Logf("%s from %s detected on %s: %+v", sc.event, sc.eventDay, day, hits[0])
			}
			var retrain bool
			for _, o := range out[sc.quiet:] {
				retrain = retrain || o.res.Retrain
			}
			if !retrain {
				t.Errorf("%s: no retrain after the change", sc.event)
			}
		})
	}
}

// ja3Bucket is the flow_features bucket of a JA3 string.
func ja3Bucket(ja3 string) int32 {
	var ff tablerow.FlowFeatures
	featuredef.Features(&cesnet.Flow{TLSJA3: ja3}, featuredef.FeatureConfig{}, &ff)
	return ff.JA3Bucket
}

// BenchmarkDriftQuarter checks every day of a generated quarter (2022-Q3,
// with the per-app drift calendar) against a reference of the two weeks
// before it, as driftcheck does without predictions, and scores the alerts
// against manifest.json: precision (app alerts explained by an event of
// that app in force, or a new JA3 of one), recall and delay of the per-app
// events starting in the quarter (apps with ≥ 25 flows a day), seconds per
// day. DRIFT_FLOWS sets flows per day (default 10000). `make bench-drift`.
func BenchmarkDriftQuarter(b *testing.B) {
	flows := 10000
	if v, err := strconv.Atoi(os.Getenv("DRIFT_FLOWS")); err == nil && v > 0 {
		flows = v
	}
	for range b.N {
		driftQuarter(b, flows)
	}
}

// driftQuarter is one run of BenchmarkDriftQuarter (a function of its own:
// the Go 1.26 compiler crashes on this body inside a b.Loop loop).
func driftQuarter(b *testing.B, flows int) {
	sc := scenario{name: "quarter", refFrom: "2022-06-17", refDays: 14, quiet: 0, after: 92, eventDay: "2022-07-01"}
	{
		t0 := time.Now()
		out, man, ref := runScenario(b, sc, flows, drift.DefaultThresholds(), true)
		perDay := time.Since(t0).Seconds() / float64(len(out))
		// Events by app and by JA3 bucket.
		type ev struct {
			kind, from string
		}
		byApp := map[string][]ev{}
		ja3App := map[string]string{}
		for _, e := range man.Events {
			if e.App == "" {
				continue
			}
			byApp[e.App] = append(byApp[e.App], ev{e.Kind, e.From})
			if j, ok := e.Details["ja3"].(string); ok {
				ja3App[fmt.Sprint(ja3Bucket(j))] = e.App
			}
			if js, ok := e.Details["ja3_after"].([]any); ok {
				for _, j := range js {
					ja3App[fmt.Sprint(ja3Bucket(fmt.Sprint(j)))] = e.App
				}
			}
		}
		inForce := func(app, day string) bool {
			for _, e := range byApp[app] {
				if e.from <= day && e.from > sc.refFrom {
					return true
				}
			}
			return false
		}
		explained, appAlerts := 0, 0
		firstAlert := map[string]string{} // app → first day alerted
		kinds := map[string]int{}
		retrainDays := 0
		for _, o := range out {
			if o.res.Retrain {
				retrainDays++
			}
			for _, a := range o.res.Alerts {
				kinds[a.Kind]++
				app := ""
				switch {
				case strings.HasPrefix(a.Subject, "app:"):
					app = strings.TrimPrefix(a.Subject, "app:")
				case strings.HasPrefix(a.Subject, "share:"):
					app = strings.TrimPrefix(a.Subject, "share:")
				case strings.HasPrefix(a.Subject, "ja3:"):
					app = ja3App[strings.TrimPrefix(a.Subject, "ja3:")]
					if app == "" {
						app = "?" + a.Subject
					}
				case strings.HasPrefix(a.Subject, "domain:"):
					app = "?" + a.Subject
				default:
					continue // day-wide feature shifts
				}
				appAlerts++
				if inForce(app, o.day) {
					explained++
				}
				if _, ok := firstAlert[app]; !ok {
					firstAlert[app] = o.day
				}
			}
		}
		// Recall over the per-app events starting in the quarter, of apps
		// with ≥ 25 flows a day in the reference: an alert on the app (or a
		// new JA3 of it) first raised from the event's first day on, within
		// 3 days of it (sudden) or of the end of its adoption (gradual).
		found, total := map[bool]int{}, map[bool]int{}
		var delays []int
		for _, e := range man.Events {
			ra := ref.Apps[e.App]
			if e.App == "" || e.From < sc.eventDay || e.From > "2022-09-28" || e.Kind == synth.KindShareDecline ||
				ra == nil || ra.Share*float64(ref.Flows)/float64(sc.refDays) < 25 {
				continue
			}
			gradual := e.To != ""
			end := e.From
			if gradual {
				end = e.To
			}
			total[gradual]++
			detectedEvent := false
			for _, o := range out {
				if o.day < e.From {
					continue
				}
				if age := int(mustDay(b, o.day).Sub(mustDay(b, end)).Hours() / 24); age > 2 {
					break
				}
				hit := false
				for _, a := range o.res.Alerts {
					if a.FirstDay >= e.From && (strings.TrimPrefix(strings.TrimPrefix(a.Subject, "app:"), "share:") == e.App ||
						ja3App[strings.TrimPrefix(a.Subject, "ja3:")] == e.App) {
						hit = true
					}
				}
				if hit {
					found[gradual]++
					detectedEvent = true
					if !gradual {
						delays = append(delays, int(mustDay(b, o.day).Sub(mustDay(b, e.From)).Hours()/24))
					}
					break
				}
			}
			if !detectedEvent {
				b.Logf("missed: %s %s from %s to %s (%.0f flows/day) %v", e.Kind, e.App, e.From, e.To, ra.Share*float64(ref.Flows)/float64(sc.refDays), e.Details)
			}
		}
		precision := float64(explained) / float64(max(appAlerts, 1))
		recall := float64(found[false]) / float64(max(total[false], 1))
		recallGradual := float64(found[true]) / float64(max(total[true], 1))
		b.ReportMetric(precision, "precision")
		b.ReportMetric(recall, "recall_sudden_3d")
		b.ReportMetric(recallGradual, "recall_gradual")
		b.ReportMetric(perDay, "s/day")
		b.Logf("quarter 2022-07-01..2022-09-30 at %d flows/day: %d days, %d retrain days, alerts by kind %v", flows, len(out), retrainDays, kinds)
		b.Logf("app alerts explained by a manifest event of the app in force: %d of %d (%.2f)", explained, appAlerts, precision)
		b.Logf("sudden per-app events (apps ≥ 25 flows/day) detected within 3 days: %d of %d (%.2f), delays in days %v", found[false], total[false], recall, delays)
		b.Logf("gradual per-app events detected by 2 days after full adoption: %d of %d (%.2f)", found[true], total[true], recallGradual)
	}
}
