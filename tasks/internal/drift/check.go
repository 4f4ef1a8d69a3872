package drift

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// Alert kinds.
const (
	KindFeatureShift = "feature_shift"
	KindShareChange  = "share_change"
	KindNewService   = "new_service"
	KindAccuracyDrop = "accuracy_drop"
)

// Thresholds decide when a score becomes an alert. The defaults were
// calibrated on quiet weeks of generated data (see README.md of this
// package's task, tasks/driftcheck, for the figures).
type Thresholds struct {
	// FeaturePSI: a feature of the whole day shifted (PSI over the
	// reference's quantile bins).
	FeaturePSI float64 `json:"feature_psi"`
	// AppFeaturePSI: a feature of one app shifted; only apps with at least
	// AppMinFlows flows that day and AppMinRefRows reference rows.
	AppFeaturePSI float64 `json:"app_feature_psi"`
	AppMinFlows   int64   `json:"app_min_flows"`
	AppMinRefRows int64   `json:"app_min_ref_rows"`
	// ShareLogRatio: |ln((s+ε)/(r+ε))| of an app's share of the day's flows
	// s against its reference share r (ε = ShareEpsilon), for apps whose
	// larger share is at least ShareMin.
	ShareLogRatio float64 `json:"share_log_ratio"`
	ShareEpsilon  float64 `json:"share_epsilon"`
	ShareMin      float64 `json:"share_min"`
	// NewServiceMinFlows and NewServiceMinShare: a domain or JA3 bucket
	// never seen in the reference is reported once it carries this many
	// flows and this share of the day; it is reported while it is younger
	// than NewServiceDays days.
	NewServiceMinFlows int64   `json:"new_service_min_flows"`
	NewServiceMinShare float64 `json:"new_service_min_share"`
	NewServiceDays     int     `json:"new_service_days"`
	// AccuracyDrop: accuracy (accepted labelled flows) below the model's
	// validation accuracy by more than this; AppRecallDrop, an app's
	// recall below its validation recall by more than this (apps with
	// AppMinFlows labelled flows).
	AccuracyDrop  float64 `json:"accuracy_drop"`
	AppRecallDrop float64 `json:"app_recall_drop"`
	// ADWIN runs over the daily streams (app shares of apps with a
	// reference share ≥ ADWINMinShare, unknown share, mean confidence,
	// accuracy).
	ADWIN         ADWINConfig `json:"adwin"`
	ADWINMinShare float64     `json:"adwin_min_share"`
	// RetrainMinApps: alerts of single apps or services ask for retraining
	// once this many distinct ones hold on the day (a change of the whole
	// network, such as an exporter update, moves many apps at once; one
	// app's drift waits for the weekly retraining); alerts of the whole day
	// (a feature, the unknown share, confidence, accuracy) always do.
	// RetrainCooldownDays: after a day that asked for retraining, the next
	// RetrainCooldownDays days against the same reference do not ask again
	// (the retrain is under way; its window is the same weeks). 1 and 0:
	// every alert asks, every day.
	RetrainMinApps      int `json:"retrain_min_apps,omitempty"`
	RetrainCooldownDays int `json:"retrain_cooldown_days,omitempty"`
}

// DefaultThresholds returns the calibrated thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{
		FeaturePSI: 0.10, AppFeaturePSI: 1.0, AppMinFlows: 25, AppMinRefRows: 50,
		ShareLogRatio: 1.25, ShareEpsilon: 0.001, ShareMin: 0.003,
		NewServiceMinFlows: 20, NewServiceMinShare: 0.0002, NewServiceDays: 7,
		AccuracyDrop: 0.08, AppRecallDrop: 0.30,
		ADWIN: ADWINConfig{Delta: 0.002, Clock: 1}, ADWINMinShare: 0.005,
	}
}

// Alert is one finding of the daily check.
type Alert struct {
	Kind      string  `json:"kind"`    // feature_shift, share_change, new_service, accuracy_drop
	Subject   string  `json:"subject"` // feature, app:<name>, domain:<d>, ja3:<bucket>, a stream
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	// FirstDay is the first day of the run of consecutive days this alert
	// has held (for a new service: the day it was first seen).
	FirstDay string `json:"first_day"`
	Detail   string `json:"detail,omitempty"`
}

// FeatureScore is the divergence of one feature (of one app, or all).
type FeatureScore struct {
	App     string `json:"app,omitempty"`
	Feature string `json:"feature"`
	Divergence
	// Excess is PSI less the noise expected from the sample sizes (per-app
	// scores only).
	Excess float64 `json:"excess,omitempty"`
}

// Service is an emerging service: a domain or JA3 bucket absent from the
// reference and the model's classes.
type Service struct {
	Subject  string  `json:"subject"` // domain:<registered domain> or ja3:<bucket>
	FirstDay string  `json:"first_day"`
	Flows    int64   `json:"flows"` // today
	Share    float64 `json:"share"`
	// Growth is today's flows over the mean of the days before (0 on the
	// first day).
	Growth   float64 `json:"growth"`
	Category string  `json:"category"` // likeliest category
	// Daily are the flows of the last days seen, oldest first.
	Daily []int64 `json:"daily"`
}

// UnknownGroup is a group of flows the classifier rejected.
type UnknownGroup struct {
	Domain   string `json:"domain"`
	JA3      int32  `json:"ja3"`
	Flows    int64  `json:"flows"`
	Category string `json:"category"`
}

// Result is the driftcheck task's result: the decision and its evidence.
type Result struct {
	Drift   bool `json:"drift"`
	Retrain bool `json:"retrain"`
	// RetrainHeld says why a drift does not ask for retraining
	// (Thresholds.RetrainMinApps, RetrainCooldownDays).
	RetrainHeld string   `json:"retrain_held,omitempty"`
	Reasons     []string `json:"reasons"`
	Alerts      []Alert  `json:"alerts"`

	Day          string `json:"day"`
	Model        string `json:"model"`
	ModelVersion string `json:"model_version"`
	Reference    string `json:"reference"` // its window, from..to
	Flows        int64  `json:"flows"`
	// Predictions says whether flow_predictions had the day; without them
	// the unknown-share, confidence and accuracy streams are unavailable.
	Predictions     bool           `json:"predictions"`
	Unavailable     []string       `json:"unavailable,omitempty"`
	TopFeatures     []FeatureScore `json:"top_features"`
	Attribution     []FeatureScore `json:"attribution"`
	NewServices     []Service      `json:"new_services"`
	UnknownGroups   []UnknownGroup `json:"unknown_groups,omitempty"`
	UnknownShare    *float64       `json:"unknown_share,omitempty"`
	MeanConfidence  *float64       `json:"mean_confidence,omitempty"`
	Accuracy        *float64       `json:"accuracy,omitempty"`
	MetricsVersion  int64          `json:"drift_metrics_version"`
	StateVersion    int64          `json:"drift_state_version"`
	FeaturesVersion int64          `json:"flow_features_version"`
	Seconds         float64        `json:"seconds"`
}

// State is what the daily check carries from one day to the next.
type State struct {
	Day       string            `json:"day"`       // last day checked
	Reference string            `json:"reference"` // model the state belongs to
	Detectors map[string]*ADWIN `json:"detectors"`
	// Services tracks domains and JA3 buckets unseen in the reference.
	Services map[string]*ServiceTrack `json:"services"`
	// Active maps an alert (kind|subject) held on the last day checked to
	// its first day.
	Active map[string]string `json:"active"`
	// LastRetrain is the last day whose result asked for retraining.
	LastRetrain string `json:"last_retrain,omitempty"`
}

// ServiceTrack is one tracked candidate service.
type ServiceTrack struct {
	FirstDay string   `json:"first_day"`
	Days     []string `json:"days"` // last days seen (≤ 14), oldest first
	Daily    []int64  `json:"daily"`
}

// NewState returns the empty state of a reference.
func NewState(reference string) *State {
	return &State{Reference: reference, Detectors: map[string]*ADWIN{}, Services: map[string]*ServiceTrack{}, Active: map[string]string{}}
}

// Check compares a day with the reference, updates st (the previous day's
// state, or NewState) and returns the decision and the day's drift_metrics
// rows.
func Check(ref *Reference, day *Day, st *State, th Thresholds) (*Result, []tablerow.DriftMetric) {
	c := &checker{ref: ref, day: day, st: st, th: th, res: &Result{Day: day.Date, Flows: day.Flows,
		Reference: ref.From + ".." + ref.To, Reasons: []string{}, Alerts: []Alert{}, NewServices: []Service{},
		TopFeatures: []FeatureScore{}, Attribution: []FeatureScore{}}}
	prevActive := st.Active
	st.Active = map[string]string{}
	c.prevActive = prevActive
	c.features()
	c.shares()
	c.predictions()
	c.services()
	st.Day = day.Date
	c.decide()
	return c.res, c.rows
}

type checker struct {
	ref        *Reference
	day        *Day
	st         *State
	th         Thresholds
	res        *Result
	rows       []tablerow.DriftMetric
	prevActive map[string]string
}

func (c *checker) metric(scope, feature, metric string, v, threshold float64, alert bool) {
	c.rows = append(c.rows, tablerow.DriftMetric{RunDate: c.day.Date, Window: c.day.Date, Reference: c.res.Reference,
		Scope: scope, Feature: feature, Metric: metric, Value: v, Threshold: threshold, Alert: alert})
}

// alert records an alert; its first day is carried from the previous
// day's state while it holds.
func (c *checker) alert(kind, subject string, score, threshold float64, detail string) {
	key := kind + "|" + subject
	first, ok := c.prevActive[key]
	if !ok {
		first = c.day.Date
	}
	c.st.Active[key] = first
	c.res.Alerts = append(c.res.Alerts, Alert{Kind: kind, Subject: subject, Score: score, Threshold: threshold,
		FirstDay: first, Detail: detail})
}

func (c *checker) features() {
	b := c.ref.Binning
	var all []FeatureScore
	for f, name := range FeatureNames {
		d := Compare(b.Feature(c.day.Hist, f), b.Feature(c.ref.Hist, f))
		all = append(all, FeatureScore{Feature: name, Divergence: d})
		alert := d.PSI > c.th.FeaturePSI
		c.metric("all", name, "psi", d.PSI, c.th.FeaturePSI, alert)
		c.metric("all", name, "kl", d.KL, 0, false)
		c.metric("all", name, "js", d.JS, 0, false)
		if alert {
			c.alert(KindFeatureShift, name, d.PSI, c.th.FeaturePSI, fmt.Sprintf("KL %.3f, JS %.3f", d.KL, d.JS))
		}
	}
	slices.SortFunc(all, func(a, b FeatureScore) int { return cmp.Compare(b.PSI, a.PSI) })
	c.res.TopFeatures = all[:min(10, len(all))]

	var attr []FeatureScore
	for _, app := range slices.Sorted(maps.Keys(c.day.Apps)) {
		da := c.day.Apps[app]
		ra := c.ref.Apps[app]
		if da.Flows < c.th.AppMinFlows || ra == nil || ra.Hist.N < c.th.AppMinRefRows {
			continue
		}
		// Small samples inflate PSI by about (bins−1)(1/n + 1/m): the
		// threshold of a feature adds that expected noise, so apps with a
		// few dozen flows a day can be checked too.
		noise := func(f int) float64 {
			return float64(b.Bins(f)-1) * (1/float64(da.Flows) + 1/float64(ra.Hist.N))
		}
		var scores []FeatureScore
		for f, name := range FeatureNames {
			d := Compare(b.Feature(da.Hist, f), b.Feature(ra.Hist, f))
			scores = append(scores, FeatureScore{App: app, Feature: name, Divergence: d, Excess: d.PSI - noise(f)})
		}
		slices.SortFunc(scores, func(a, b FeatureScore) int { return cmp.Compare(b.Excess, a.Excess) })
		top := scores[:3]
		for _, s := range top {
			c.metric("app:"+app, s.Feature, "psi", s.PSI, s.PSI-s.Excess+c.th.AppFeaturePSI, s.Excess > c.th.AppFeaturePSI)
		}
		if top[0].Excess > c.th.AppFeaturePSI {
			var moved []string
			for _, s := range scores {
				if s.Excess > c.th.AppFeaturePSI && len(moved) < 5 {
					moved = append(moved, fmt.Sprintf("%s %.2f", s.Feature, s.PSI))
				}
			}
			c.alert(KindFeatureShift, "app:"+app, top[0].PSI, top[0].PSI-top[0].Excess+c.th.AppFeaturePSI,
				fmt.Sprintf("%d flows; PSI %s", da.Flows, strings.Join(moved, ", ")))
		}
		attr = append(attr, top...)
	}
	slices.SortFunc(attr, func(a, b FeatureScore) int { return cmp.Compare(b.Excess, a.Excess) })
	c.res.Attribution = attr[:min(20, len(attr))]
}

// adwin feeds one daily value to a stream's detector and reports a change
// and the window mean before the value.
func (c *checker) adwin(stream string, v float64) (changed bool, before float64) {
	d := c.st.Detectors[stream]
	if d == nil {
		d = NewADWIN(c.th.ADWIN)
		c.st.Detectors[stream] = d
	}
	before = d.Mean()
	changed = d.Update(v)
	c.metric("stream", stream, "adwin", v, c.th.ADWIN.Delta, changed)
	return changed, before
}

func (c *checker) shares() {
	total := float64(max(c.day.Flows, 1))
	apps := map[string]bool{}
	for a := range c.day.Apps {
		apps[a] = true
	}
	for a := range c.ref.Apps {
		apps[a] = true
	}
	eps := c.th.ShareEpsilon
	for _, app := range slices.Sorted(maps.Keys(apps)) {
		var s, r float64
		if da := c.day.Apps[app]; da != nil {
			s = float64(da.Flows) / total
		}
		if ra := c.ref.Apps[app]; ra != nil {
			r = ra.Share
		}
		score := math.Abs(math.Log((s + eps) / (r + eps)))
		alert := math.Max(s, r) >= c.th.ShareMin && score > c.th.ShareLogRatio
		if math.Max(s, r) >= c.th.ShareMin {
			c.metric("app:"+app, "", "share_shift", score, c.th.ShareLogRatio, alert)
		}
		if alert {
			c.alert(KindShareChange, "app:"+app, score, c.th.ShareLogRatio, fmt.Sprintf("share %.3f%% (reference %.3f%%)", 100*s, 100*r))
		}
		if r >= c.th.ADWINMinShare {
			if changed, before := c.adwin("share:"+app, s); changed {
				c.alert(KindShareChange, "share:"+app, s, before, fmt.Sprintf("ADWIN: daily share %.3f%%, window mean before %.3f%%", 100*s, 100*before))
			}
		}
	}
}

func (c *checker) predictions() {
	p := c.day.Predictions
	if p == nil || p.Rows == 0 {
		c.res.Unavailable = []string{"unknown_share", "mean_confidence", "accuracy"}
		return
	}
	c.res.Predictions = true
	unknown := float64(p.Unknown) / float64(p.Rows)
	conf := p.SumProb / float64(p.Rows)
	c.res.UnknownShare, c.res.MeanConfidence = &unknown, &conf
	c.metric("all", "", "unknown_rate", unknown, 0, false)
	c.metric("all", "", "mean_confidence", conf, c.ref.Model.MeanMaxProb, false)
	if changed, before := c.adwin("unknown_share", unknown); changed {
		c.alert(KindShareChange, "unknown_share", unknown, before, fmt.Sprintf("ADWIN: unknown share %.2f%%, window mean before %.2f%%", 100*unknown, 100*before))
	}
	if changed, before := c.adwin("mean_confidence", conf); changed && conf < before {
		c.alert(KindAccuracyDrop, "mean_confidence", conf, before, fmt.Sprintf("ADWIN: mean confidence %.3f, window mean before %.3f", conf, before))
	}
	if p.Labelled > 0 {
		acc := float64(p.Correct) / float64(p.Labelled)
		c.res.Accuracy = &acc
		drop := c.ref.Model.ValAccuracy - acc
		alert := c.ref.Model.ValAccuracy > 0 && drop > c.th.AccuracyDrop
		c.metric("all", "", "accuracy", acc, c.ref.Model.ValAccuracy-c.th.AccuracyDrop, alert)
		if alert {
			c.alert(KindAccuracyDrop, "accuracy", drop, c.th.AccuracyDrop, fmt.Sprintf("accuracy %.3f, validation %.3f", acc, c.ref.Model.ValAccuracy))
		}
		if changed, before := c.adwin("accuracy", acc); changed && acc < before {
			c.alert(KindAccuracyDrop, "accuracy:adwin", acc, before, fmt.Sprintf("ADWIN: accuracy %.3f, window mean before %.3f", acc, before))
		}
	}
	for _, app := range slices.Sorted(maps.Keys(p.Support)) {
		n := p.Support[app]
		base, ok := c.ref.Model.ClassRecall[app]
		if n < c.th.AppMinFlows || !ok {
			continue
		}
		recall := float64(p.Hits[app]) / float64(n)
		if changed, before := c.adwin("accuracy:"+app, recall); changed && recall < before {
			c.alert(KindAccuracyDrop, "accuracy:"+app, recall, before, fmt.Sprintf("ADWIN: recall %.3f, window mean before %.3f", recall, before))
		}
		alert := base-recall > c.th.AppRecallDrop
		c.metric("app:"+app, "", "recall", recall, base-c.th.AppRecallDrop, alert)
		if alert {
			c.alert(KindAccuracyDrop, "app:"+app, base-recall, c.th.AppRecallDrop, fmt.Sprintf("recall %.3f, validation %.3f", recall, base))
		}
	}
	var groups []UnknownGroup
	for k, g := range p.UnknownGroups {
		groups = append(groups, UnknownGroup{Domain: k.Domain, JA3: k.JA3, Flows: g.Flows, Category: likeliest(g)})
	}
	slices.SortFunc(groups, func(a, b UnknownGroup) int {
		return cmp.Or(cmp.Compare(b.Flows, a.Flows), cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.JA3, b.JA3))
	})
	c.res.UnknownGroups = groups[:min(10, len(groups))]
}

// likeliest returns the category most of a service's flows were predicted
// as, else labelled as, else "unknown".
func likeliest(s *DayService) string {
	for _, m := range []map[string]int64{s.Predicted, s.Labelled} {
		best, n := "", int64(0)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if m[k] > n {
				best, n = k, m[k]
			}
		}
		if best != "" {
			return best
		}
	}
	return "unknown"
}

// labelName is the name part of a registered domain ("tinder.com" →
// "tinder"), compared with the model's classes.
func labelName(domain string) string {
	name, _, _ := strings.Cut(domain, ".")
	return name
}

func (c *checker) services() {
	known := map[string]bool{}
	for _, d := range c.ref.KnownDomains {
		known["domain:"+d] = true
	}
	for _, j := range c.ref.KnownJA3 {
		known["ja3:"+strconv.Itoa(int(j))] = true
	}
	classes := map[string]bool{}
	for _, cl := range c.ref.Model.Classes {
		classes[cl] = true
	}
	for a := range c.ref.Apps {
		classes[a] = true
	}
	cands := map[string]*DayService{}
	for d, s := range c.day.Domains {
		if k := "domain:" + d; !known[k] && !classes[labelName(d)] {
			cands[k] = s
		}
	}
	for j, s := range c.day.JA3 {
		if k := "ja3:" + strconv.Itoa(int(j)); !known[k] {
			cands[k] = s
		}
	}
	total := float64(max(c.day.Flows, 1))
	for _, k := range slices.Sorted(maps.Keys(cands)) {
		s := cands[k]
		tr := c.st.Services[k]
		if tr == nil {
			tr = &ServiceTrack{FirstDay: c.day.Date}
			c.st.Services[k] = tr
		}
		var growth float64
		if len(tr.Daily) > 0 {
			var sum int64
			for _, v := range tr.Daily {
				sum += v
			}
			growth = float64(s.Flows) / (float64(sum) / float64(len(tr.Daily)))
		}
		if n := len(tr.Days); n == 0 || tr.Days[n-1] != c.day.Date {
			tr.Days = append(tr.Days, c.day.Date)
			tr.Daily = append(tr.Daily, s.Flows)
		} else {
			tr.Daily[n-1] = s.Flows
		}
		if len(tr.Days) > 14 {
			tr.Days, tr.Daily = tr.Days[len(tr.Days)-14:], tr.Daily[len(tr.Daily)-14:]
		}
		share := float64(s.Flows) / total
		if s.Flows < c.th.NewServiceMinFlows || share < c.th.NewServiceMinShare || age(tr.FirstDay, c.day.Date) >= c.th.NewServiceDays {
			continue
		}
		svc := Service{Subject: k, FirstDay: tr.FirstDay, Flows: s.Flows, Share: share, Growth: growth,
			Category: likeliest(s), Daily: slices.Clone(tr.Daily)}
		c.res.NewServices = append(c.res.NewServices, svc)
	}
	slices.SortFunc(c.res.NewServices, func(a, b Service) int {
		return cmp.Or(cmp.Compare(b.Flows, a.Flows), cmp.Compare(b.Growth, a.Growth), cmp.Compare(a.Subject, b.Subject))
	})
	for _, s := range c.res.NewServices {
		c.metric(s.Subject, "", "new_service", float64(s.Flows), float64(c.th.NewServiceMinFlows), true)
		c.st.Active[KindNewService+"|"+s.Subject] = s.FirstDay
		c.res.Alerts = append(c.res.Alerts, Alert{Kind: KindNewService, Subject: s.Subject, Score: s.Share,
			Threshold: c.th.NewServiceMinShare, FirstDay: s.FirstDay,
			Detail: fmt.Sprintf("%d flows, likeliest category %s", s.Flows, s.Category)})
	}
	// Forget candidates unseen for 30 days.
	for k, tr := range c.st.Services {
		if n := len(tr.Days); n > 0 && age(tr.Days[n-1], c.day.Date) > 30 {
			delete(c.st.Services, k)
		}
	}
}

// age is the number of days from a to b (both YYYY-MM-DD).
func age(a, b string) int {
	ta, err1 := time.Parse(cesnet.DayLayout, a)
	tb, err2 := time.Parse(cesnet.DayLayout, b)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(tb.Sub(ta).Hours() / 24)
}

func (c *checker) decide() {
	r := c.res
	slices.SortStableFunc(r.Alerts, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(b.Score/math.Max(b.Threshold, 1e-12), a.Score/math.Max(a.Threshold, 1e-12)))
	})
	r.Drift = len(r.Alerts) > 0
	count := map[string]int{}
	for _, a := range r.Alerts {
		count[a.Kind]++
	}
	for _, k := range []string{KindFeatureShift, KindShareChange, KindNewService, KindAccuracyDrop} {
		if count[k] == 0 {
			continue
		}
		var subj []string
		for _, a := range r.Alerts {
			if a.Kind == k && len(subj) < 3 {
				subj = append(subj, a.Subject)
			}
		}
		more := ""
		if count[k] > len(subj) {
			more = fmt.Sprintf(" and %d more", count[k]-len(subj))
		}
		r.Reasons = append(r.Reasons, fmt.Sprintf("%s: %s%s", k, strings.Join(subj, ", "), more))
	}
	// Every kind of alert can call for retraining: the model no longer sees
	// the traffic it learned (features, shares, services) or no longer
	// classifies it as well; how broad the drift must be, and how often a
	// retrain is asked for, are Thresholds.RetrainMinApps and
	// RetrainCooldownDays.
	r.Retrain, r.RetrainHeld = c.retrain()
	if r.Retrain {
		c.st.LastRetrain = c.day.Date
	}
}

// retrain decides whether the day's alerts ask for retraining, else why not.
func (c *checker) retrain() (bool, string) {
	if !c.res.Drift {
		return false, ""
	}
	local := map[string]bool{}
	broad := false
	for _, a := range c.res.Alerts {
		if s, ok := localSubject(a.Subject); ok {
			local[s] = true
		} else {
			broad = true
		}
	}
	if !broad && len(local) < c.th.RetrainMinApps {
		return false, fmt.Sprintf("alerts of %d apps or services, fewer than %d, and none of the whole day", len(local), c.th.RetrainMinApps)
	}
	if last := c.st.LastRetrain; c.th.RetrainCooldownDays > 0 && last != "" && last < c.day.Date && age(last, c.day.Date) < c.th.RetrainCooldownDays {
		return false, fmt.Sprintf("retraining asked for on %s, less than %d days ago", last, c.th.RetrainCooldownDays)
	}
	return true, ""
}

// localSubject returns the app or service an alert's subject is about
// (app:, share:, accuracy:<app>, domain:, ja3:), or false for an alert of
// the whole day.
func localSubject(subject string) (string, bool) {
	if subject == "accuracy:adwin" {
		return "", false
	}
	for _, p := range []string{"app:", "share:", "accuracy:"} {
		if app, ok := strings.CutPrefix(subject, p); ok {
			return "app:" + app, true
		}
	}
	if strings.HasPrefix(subject, "domain:") || strings.HasPrefix(subject, "ja3:") {
		return subject, true
	}
	return "", false
}
