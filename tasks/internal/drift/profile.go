package drift

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// ReferenceFile is the reference profile's name beside a model bundle.
const ReferenceFile = "reference.json"

// ReferenceFormat names the layout of reference.json.
const ReferenceFormat = "telcotraffic.reference/1"

// OtherKey is the entry that sums everything outside a top-K list.
const OtherKey = "other"

// ProfileConfig configures a Profiler; zero fields take the defaults.
type ProfileConfig struct {
	// SampleRows is the uniform sample the bin edges and the window's
	// histograms come from (default 50 000).
	SampleRows int `json:"sample_rows"`
	// AppSampleRows is each app's own sample, for per-app histograms
	// (default 400).
	AppSampleRows int `json:"app_sample_rows"`
	Bins          int `json:"bins"`  // quantile bins per feature (default DefaultBins)
	TopK          int `json:"top_k"` // domains and JA3 buckets listed (default 50)
	// MaxKnownDomains bounds the registered domains remembered as seen
	// (the most frequent; default 50 000).
	MaxKnownDomains int    `json:"max_known_domains"`
	Seed            uint64 `json:"seed"`
}

func (c ProfileConfig) withDefaults() ProfileConfig {
	if c.SampleRows <= 0 {
		c.SampleRows = 50_000
	}
	if c.AppSampleRows <= 0 {
		c.AppSampleRows = 400
	}
	if c.Bins <= 0 {
		c.Bins = DefaultBins
	}
	if c.TopK <= 0 {
		c.TopK = 50
	}
	if c.MaxKnownDomains <= 0 {
		c.MaxKnownDomains = 50_000
	}
	return c
}

// Count is one entry of a ranked list.
type Count struct {
	Key   string  `json:"key"`
	Flows int64   `json:"flows"`
	Share float64 `json:"share"`
}

// AppProfile is one app of the reference window (by label).
type AppProfile struct {
	Category string  `json:"category"`
	Flows    int64   `json:"flows"`
	Share    float64 `json:"share"`
	// Hist is the histogram of the app's own sample.
	Hist *Hist `json:"hist"`
}

// ModelProfile is how the model behaved on its validation window.
type ModelProfile struct {
	FeatureSet  string   `json:"feature_set,omitempty"`
	Classes     []string `json:"classes"`
	MeanMaxProb float64  `json:"mean_max_prob"`
	ValAccuracy float64  `json:"val_accuracy"`
	// ClassRecall is each class's validation recall (classes with
	// validation rows).
	ClassRecall map[string]float64 `json:"class_recall"`
}

// Reference is the profile of a model's training window, the baseline of
// the daily drift check (reference.json beside the bundle).
type Reference struct {
	Format  string    `json:"format"`
	Created time.Time `json:"created"`
	// From and To are the first and last days profiled.
	From  string `json:"from"`
	To    string `json:"to"`
	Flows int64  `json:"flows"`
	// Features names the monitored features (FeatureNames when written).
	Features []string `json:"features"`
	Binning  *Binning `json:"binning"`
	// Hist is the histogram of the uniform sample of the window.
	Hist       *Hist                  `json:"hist"`
	Apps       map[string]*AppProfile `json:"apps"`
	Categories map[string]float64     `json:"category_shares"`
	// Domains and JA3 are the top registered SNI domains and JA3 buckets
	// by flows, then OtherKey.
	Domains []Count `json:"top_domains"`
	JA3     []Count `json:"top_ja3"`
	// KnownDomains and KnownJA3 are every registered domain (up to
	// MaxKnownDomains) and JA3 bucket seen in the window, sorted.
	KnownDomains []string      `json:"known_domains"`
	KnownJA3     []int32       `json:"known_ja3"`
	Model        ModelProfile  `json:"model"`
	Config       ProfileConfig `json:"config"`
}

// RegisteredDomain returns the registered domain of a flow_features
// sni_domain ("api|spotify.com" → "spotify.com").
func RegisteredDomain(sniDomain string) string {
	if i := strings.IndexByte(sniDomain, '|'); i >= 0 {
		return sniDomain[i+1:]
	}
	return sniDomain
}

type reservoir struct {
	rows []float32 // row-major, NumFeatures per row
	seen int64
}

// add offers x; cap is in rows.
func (r *reservoir) add(x []float32, cap int, rng *rand.Rand) {
	r.seen++
	if len(r.rows) < cap*NumFeatures {
		r.rows = append(r.rows, x...)
		return
	}
	if j := rng.Int64N(r.seen); j < int64(cap) {
		copy(r.rows[int(j)*NumFeatures:], x)
	}
}

// Profiler builds a Reference from the rows of a training window, in one
// pass: counts of apps, categories, domains and JA3 buckets over every row,
// and uniform samples (overall and per app) for the histograms.
type Profiler struct {
	cfg      ProfileConfig
	rng      *rand.Rand
	x        []float32
	all      reservoir
	apps     map[string]*reservoir
	appFlows map[string]int64
	appCat   map[string]string
	cats     map[string]int64
	domains  map[string]int64
	ja3      map[int32]int64
	from, to string
	flows    int64
}

// NewProfiler returns an empty profiler.
func NewProfiler(cfg ProfileConfig) *Profiler {
	cfg = cfg.withDefaults()
	return &Profiler{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7e1c0)), x: make([]float32, NumFeatures),
		apps: map[string]*reservoir{}, appFlows: map[string]int64{}, appCat: map[string]string{},
		cats: map[string]int64{}, domains: map[string]int64{}, ja3: map[int32]int64{}}
}

// Add profiles one row (the row may be reused after the call).
func (p *Profiler) Add(r *tablerow.FlowFeatures) {
	p.flows++
	if p.from == "" || r.Day < p.from {
		p.from = strings.Clone(r.Day)
	}
	if r.Day > p.to {
		p.to = strings.Clone(r.Day)
	}
	Extract(r, p.x)
	p.all.add(p.x, p.cfg.SampleRows, p.rng)
	if r.App != "" {
		res := p.apps[r.App]
		if res == nil {
			res = &reservoir{}
			app := strings.Clone(r.App)
			p.apps[app] = res
			p.appCat[app] = strings.Clone(r.Category)
		}
		res.add(p.x, p.cfg.AppSampleRows, p.rng)
		p.appFlows[r.App]++
	}
	if r.Category != "" {
		if _, ok := p.cats[r.Category]; !ok {
			p.cats[strings.Clone(r.Category)] = 0
		}
		p.cats[r.Category]++
	}
	if d := RegisteredDomain(r.SNIDomain); d != "" {
		if _, ok := p.domains[d]; !ok {
			p.domains[strings.Clone(d)] = 0
		}
		p.domains[d]++
	}
	if r.JA3Bucket != 0 {
		p.ja3[r.JA3Bucket]++
	}
}

// Flows returns the number of rows profiled.
func (p *Profiler) Flows() int64 { return p.flows }

// Reference returns the profile of the rows added; model describes the
// model trained on them (may be zero).
func (p *Profiler) Reference(model ModelProfile) (*Reference, error) {
	if p.flows == 0 {
		return nil, fmt.Errorf("drift: profile: no rows")
	}
	b := FitBinning(p.all.rows, p.cfg.Bins)
	ref := &Reference{Format: ReferenceFormat, Created: time.Now().UTC(), From: p.from, To: p.to, Flows: p.flows,
		Features: FeatureNames, Binning: b, Hist: histOf(b, p.all.rows), Apps: map[string]*AppProfile{},
		Categories: map[string]float64{}, Model: model, Config: p.cfg}
	for app, res := range p.apps {
		ref.Apps[app] = &AppProfile{Category: p.appCat[app], Flows: p.appFlows[app],
			Share: float64(p.appFlows[app]) / float64(p.flows), Hist: histOf(b, res.rows)}
	}
	for c, n := range p.cats {
		ref.Categories[c] = float64(n) / float64(p.flows)
	}
	ref.Domains = topK(p.domains, p.cfg.TopK, p.flows)
	ja3 := map[string]int64{}
	for k, n := range p.ja3 {
		ja3[fmt.Sprint(k)] = n
		ref.KnownJA3 = append(ref.KnownJA3, k)
	}
	ref.JA3 = topK(ja3, p.cfg.TopK, p.flows)
	slices.Sort(ref.KnownJA3)
	known := topK(p.domains, p.cfg.MaxKnownDomains, p.flows)
	for _, c := range known {
		if c.Key != OtherKey {
			ref.KnownDomains = append(ref.KnownDomains, c.Key)
		}
	}
	slices.Sort(ref.KnownDomains)
	return ref, nil
}

func histOf(b *Binning, rows []float32) *Hist {
	h := b.NewHist()
	for i := 0; i+NumFeatures <= len(rows); i += NumFeatures {
		b.Add(h, rows[i:i+NumFeatures])
	}
	return h
}

// topK ranks counts by flows (then key) and sums the rest under OtherKey;
// shares are of total.
func topK(m map[string]int64, k int, total int64) []Count {
	out := make([]Count, 0, len(m))
	for key, n := range m {
		out = append(out, Count{Key: key, Flows: n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Flows, a.Flows), cmp.Compare(a.Key, b.Key))
	})
	if len(out) > k {
		var rest int64
		for _, c := range out[k:] {
			rest += c.Flows
		}
		out = append(out[:k], Count{Key: OtherKey, Flows: rest})
	}
	for i := range out {
		out[i].Share = float64(out[i].Flows) / float64(max(total, 1))
	}
	return out
}

// ModelProfileOf summarises a model's validation predictions: probs holds
// len(labels) rows of len(classes) class probabilities.
func ModelProfileOf(featureSet string, classes []string, probs []float32, labels []int) ModelProfile {
	k := len(classes)
	m := ModelProfile{FeatureSet: featureSet, Classes: slices.Clone(classes), ClassRecall: map[string]float64{}}
	if k == 0 || len(labels) == 0 || len(probs) < len(labels)*k {
		return m
	}
	support := make([]int, k)
	hits := make([]int, k)
	var sumMax float64
	correct := 0
	for i, y := range labels {
		row := probs[i*k : (i+1)*k]
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		sumMax += float64(row[best])
		support[y]++
		if best == y {
			hits[y]++
			correct++
		}
	}
	m.MeanMaxProb = sumMax / float64(len(labels))
	m.ValAccuracy = float64(correct) / float64(len(labels))
	for c, n := range support {
		if n > 0 {
			m.ClassRecall[classes[c]] = float64(hits[c]) / float64(n)
		}
	}
	return m
}

// Validate checks a decoded reference.
func (r *Reference) Validate() error {
	if r.Format != ReferenceFormat {
		return fmt.Errorf("drift: reference format %q, want %q", r.Format, ReferenceFormat)
	}
	if !slices.Equal(r.Features, FeatureNames) {
		return fmt.Errorf("drift: reference profiles %d features that are not this build's %d", len(r.Features), NumFeatures)
	}
	if r.Binning == nil || r.Hist == nil {
		return fmt.Errorf("drift: reference has no binning or histogram")
	}
	if err := r.Binning.Validate(); err != nil {
		return err
	}
	check := func(what string, h *Hist) error {
		if h == nil || len(h.Counts) != r.Binning.size {
			return fmt.Errorf("drift: reference %s histogram does not match the binning", what)
		}
		return nil
	}
	if err := check("window", r.Hist); err != nil {
		return err
	}
	for app, a := range r.Apps {
		if err := check("app "+app, a.Hist); err != nil {
			return err
		}
	}
	return nil
}

// DecodeReference parses and validates reference.json.
func DecodeReference(b []byte) (*Reference, error) {
	var r Reference
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("drift: reference: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// SaveReference writes ref as ReferenceFile under dir (a local folder or
// any URI the storage layer opens).
func SaveReference(ctx context.Context, dir string, ref *Reference, opts storage.Options) error {
	b, err := json.Marshal(ref)
	if err != nil {
		return fmt.Errorf("drift: reference: %w", err)
	}
	st, err := storage.Open(ctx, dir, opts)
	if err != nil {
		return fmt.Errorf("drift: save reference: %w", err)
	}
	if err := st.Put(ctx, ReferenceFile, b); err != nil {
		return fmt.Errorf("drift: save reference in %s: %w", st.URI(), err)
	}
	return nil
}

// LoadReference reads ReferenceFile under dir.
func LoadReference(ctx context.Context, dir string, opts storage.Options) (*Reference, error) {
	st, err := storage.Open(ctx, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("drift: load reference: %w", err)
	}
	b, err := st.Get(ctx, ReferenceFile)
	if err != nil {
		return nil, fmt.Errorf("drift: load reference from %s: %w", st.URI(), err)
	}
	return DecodeReference(b)
}
