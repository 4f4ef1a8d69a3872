package drift

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// checkDays runs Check over days built by mk (day index → rows and
// predictions), carrying the state, and returns each day's result.
func checkDays(t *testing.T, ref *Reference, days int, mk func(i int, d *Day)) []*Result {
	t.Helper()
	st := NewState("m@1")
	var out []*Result
	for i := range days {
		d := NewDay(ref, fmt.Sprintf("2022-03-%02d", i+1))
		mk(i, d)
		res, rows := Check(ref, d, st, DefaultThresholds())
		for _, r := range rows {
			if r.RunDate != d.Date {
				t.Fatalf("metric row of %s on %s", r.RunDate, d.Date)
			}
		}
		out = append(out, res)
	}
	return out
}

func alertOn(res *Result, kind, subject string) *Alert {
	for i, a := range res.Alerts {
		if a.Kind == kind && a.Subject == subject {
			return &res.Alerts[i]
		}
	}
	return nil
}

// TestCheck drives the decision over days of synthetic flows: quiet days,
// then a packet-size shift of app "b", a new domain, and an accuracy drop,
// each reported with its first day, carried while it holds.
func TestCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	apps := []string{"a", "b", "c"}
	row := func(i int, shiftB bool, domain string) tablerow.FlowFeatures {
		app := apps[i%3]
		var shift float32
		if shiftB && app == "b" {
			shift = 3000
		}
		r := testRow(rng, shift)
		r.App, r.Category, r.Day, r.SNIDomain, r.JA3Bucket = app, "cat-"+app, "2022-02-01", "www|"+app+".com", int32(1+i%3)
		if domain != "" && i%10 == 0 {
			r.SNIDomain, r.JA3Bucket = "api|"+domain, 999
		}
		return r
	}
	p := NewProfiler(ProfileConfig{Seed: 1})
	for i := range 6000 {
		r := row(i, false, "")
		p.Add(&r)
	}
	ref, err := p.Reference(ModelProfile{Classes: apps, MeanMaxProb: 0.8, ValAccuracy: 0.9, ClassRecall: map[string]float64{"a": 0.9, "b": 0.9, "c": 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]bool{"a": true, "b": true, "c": true}
	const shiftDay, newDay, dropDay = 5, 7, 9
	res := checkDays(t, ref, 12, func(day int, d *Day) {
		for i := range 3000 {
			r := row(i, day >= shiftDay, map[bool]string{true: "newsvc.io"}[day >= newDay])
			r.Day = d.Date
			d.AddFlow(&r)
			acc := 0.9
			if day >= dropDay {
				acc = 0.6
			}
			pr := tablerow.FlowPrediction{Day: d.Date, App: r.App, TrueApp: r.App, Prob: 0.8, SNIDomain: r.SNIDomain, JA3Bucket: r.JA3Bucket}
			if rng.Float64() > acc {
				pr.App = apps[(slices.Index(apps, r.App)+1)%3]
			}
			d.AddPrediction(&pr, classes)
		}
	})
	for i, r := range res[:shiftDay] {
		if r.Retrain || r.Drift {
			t.Errorf("quiet day %d: %v", i+1, r.Reasons)
		}
		if !r.Predictions || r.Accuracy == nil {
			t.Errorf("day %d: predictions not used", i+1)
		}
	}
	for _, c := range []struct {
		from          int
		kind, subject string
	}{
		{shiftDay, KindFeatureShift, "app:b"},
		{newDay, KindNewService, "domain:newsvc.io"},
		{newDay, KindNewService, "ja3:999"},
		{dropDay, KindAccuracyDrop, "accuracy"},
	} {
		first := fmt.Sprintf("2022-03-%02d", c.from+1)
		for day := c.from; day < len(res); day++ {
			a := alertOn(res[day], c.kind, c.subject)
			if a == nil || a.FirstDay != first {
				t.Errorf("day %d: %s %s = %+v, want first day %s", day+1, c.kind, c.subject, a, first)
			}
			if !res[day].Retrain {
				t.Errorf("day %d: no retrain", day+1)
			}
		}
		if a := alertOn(res[c.from-1], c.kind, c.subject); a != nil {
			t.Errorf("day %d: %s %s before it happened", c.from, c.kind, c.subject)
		}
	}
	if svc := res[newDay+1].NewServices; len(svc) != 2 || svc[0].FirstDay != "2022-03-08" || len(svc[0].Daily) != 2 ||
		svc[0].Flows != 300 || svc[0].Growth != 1 {
		t.Errorf("new services on day %d: %+v, want 2 with 300 flows a day since 2022-03-08", newDay+2, svc)
	}
}

// TestRetrainDecision: how broad a drift must be (RetrainMinApps: distinct
// apps or services; alerts of the whole day always count) and how often a
// retrain is asked for (RetrainCooldownDays, carried in the state).
func TestRetrainDecision(t *testing.T) {
	app := func(kind, subject string) Alert { return Alert{Kind: kind, Subject: subject} }
	twoApps := []Alert{app(KindFeatureShift, "app:a"), app(KindShareChange, "share:a"), app(KindNewService, "ja3:7")}
	for _, c := range []struct {
		name      string
		alerts    []Alert
		minApps   int
		cooldown  int
		last, day string
		want      bool
		wantLast  string
	}{
		{"no alert", nil, 0, 0, "", "2022-03-05", false, ""},
		{"defaults: any alert", twoApps[:1], 0, 0, "2022-03-04", "2022-03-05", true, "2022-03-05"},
		{"too few apps", twoApps, 3, 0, "", "2022-03-05", false, ""},
		{"enough apps", append(slices.Clone(twoApps), app(KindAccuracyDrop, "accuracy:b")), 3, 0, "", "2022-03-05", true, "2022-03-05"},
		{"a feature of the whole day", append(slices.Clone(twoApps), app(KindFeatureShift, "ppi_size_4")), 8, 0, "", "2022-03-05", true, "2022-03-05"},
		{"accuracy over the day", []Alert{app(KindAccuracyDrop, "accuracy:adwin")}, 8, 0, "", "2022-03-05", true, "2022-03-05"},
		{"in the cooldown", twoApps, 1, 7, "2022-03-01", "2022-03-07", false, "2022-03-01"},
		{"after the cooldown", twoApps, 1, 7, "2022-03-01", "2022-03-08", true, "2022-03-08"},
		{"the same day again", twoApps, 1, 7, "2022-03-08", "2022-03-08", true, "2022-03-08"},
	} {
		t.Run(c.name, func(t *testing.T) {
			th := DefaultThresholds()
			th.RetrainMinApps, th.RetrainCooldownDays = c.minApps, c.cooldown
			st := NewState("m@1")
			st.LastRetrain = c.last
			ck := &checker{st: st, th: th, day: &Day{Date: c.day}, res: &Result{Alerts: slices.Clone(c.alerts)}}
			ck.decide()
			if ck.res.Retrain != c.want || st.LastRetrain != c.wantLast {
				t.Errorf("retrain %v (held: %q), last %q; want %v, last %q", ck.res.Retrain, ck.res.RetrainHeld, st.LastRetrain, c.want, c.wantLast)
			}
			if held := len(c.alerts) > 0 && !c.want; held != (ck.res.RetrainHeld != "") {
				t.Errorf("retrain %v with held %q", ck.res.Retrain, ck.res.RetrainHeld)
			}
		})
	}
}
