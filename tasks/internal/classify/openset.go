package classify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// Reject is the open-set rule: a flow whose known score under Method is
// under Threshold is reported as an unknown service.
type Reject struct {
	Threshold float32 `json:"threshold"`
	// TargetFPR is the share of known validation flows the threshold
	// rejects (at most).
	TargetFPR float64 `json:"target_fpr"`
	ValFPR    float64 `json:"val_fpr"`
	// Method scores the flows (OpenSetMethods); "" in bundles before it
	// existed: the head when Head is set, else the highest probability.
	Method string `json:"method,omitempty"`
	// Head is the chosen method's known-vs-unknown head (learned methods).
	// Threshold applies to 1 − its P(unknown).
	Head *OpenSetHead `json:"head,omitempty"`
	// Fingerprints are the training flows' handshake counts (methods
	// fingerprint and head_fingerprint).
	Fingerprints *Fingerprints `json:"fingerprints,omitempty"`
	// ValTPR is the chosen method's share of the open-set apps' validation
	// flows rejected (out of fold for a head).
	ValTPR float64 `json:"val_tpr,omitempty"`
	// Methods are every method fitted, with its validation TPR; the one of
	// highest ValTPR is the rule's (ties: the earlier in OpenSetMethods).
	Methods []RejectMethod `json:"methods,omitempty"`
}

// method returns the rule's method, resolving bundles without Method.
func (r Reject) method() RejectMethod {
	m := RejectMethod{Method: r.Method, Head: r.Head, Threshold: r.Threshold}
	if m.Method == "" {
		m.Method = MethodMaxProb
		if r.Head != nil {
			m.Method = MethodHead
		}
	}
	return m
}

// KnownScores returns the rule's known score of each flow of a prediction
// (members' and ensemble probabilities of rows).
func (r Reject) KnownScores(members [][]float32, ens []float32, k int, rows []tablerow.FlowFeatures) ([]float32, error) {
	return methodScores(r.method(), members, ens, k, rows, r.Fingerprints)
}

// fitRejectMethods fits every open-set method on the validation flows of
// the known classes (member probabilities probs, ensemble ens, rows
// valRows) against the open-set apps' validation flows (open, of apps
// openApps), with the handshake fingerprints of the training rows, and
// returns the rule of the method of highest validation TPR.
func (b *Bundle) fitRejectMethods(ctx context.Context, probs [][]float32, ens []float32, valRows []tablerow.FlowFeatures, open *Inputs, trainRows []tablerow.FlowFeatures, fpr float64) (Reject, error) {
	k := len(b.Transforms.Classes)
	po, err := b.predict(ctx, open)
	if err != nil {
		return Reject{}, err
	}
	fp := fitFingerprints(trainRows)
	group := make([]string, open.Len())
	for i := range open.Rows {
		group[i] = providerOf(open.Rows[i].App)
	}
	rej := Reject{TargetFPR: fpr, Fingerprints: fp}
	best := -1
	for _, name := range OpenSetMethods {
		m := RejectMethod{Method: name}
		var known, unknown []float32
		switch name {
		case MethodHead, MethodHeadFingerprint:
			var use *Fingerprints
			if name == MethodHeadFingerprint {
				use = fp
			}
			xk, names := openSetFeatures(probs, ens, k, valRows, use)
			xu, _ := openSetFeatures(po.Members, po.Probs, k, open.Rows, use)
			unk := make([]bool, len(xk)/len(names)+open.Len())
			for i := len(xk) / len(names); i < len(unk); i++ {
				unk[i] = true
			}
			m.Head = fitOpenSetHead(append(slices.Clone(xk), xu...), names, unk)
			known, unknown, m.CrossFit = crossFitHead(xk, xu, names, group)
			if !m.CrossFit { // a single open-set group: in-sample (optimistic)
				known, unknown = m.Head.KnownScores(xk), m.Head.KnownScores(xu)
			}
			// The threshold is set on the final head's known scores.
			_, _, m.Threshold = TPRAtFPR(m.Head.KnownScores(xk), nil, fpr)
		default:
			if known, err = methodScores(m, probs, ens, k, valRows, fp); err != nil {
				return Reject{}, err
			}
			if unknown, err = methodScores(m, po.Members, po.Probs, k, open.Rows, fp); err != nil {
				return Reject{}, err
			}
		}
		tpr, at, t := TPRAtFPR(known, unknown, fpr)
		m.ValTPR, m.ValFPR = tpr, at
		if m.Head == nil {
			m.Threshold = t
		}
		rej.Methods = append(rej.Methods, m)
		if best < 0 || m.ValTPR > rej.Methods[best].ValTPR {
			best = len(rej.Methods) - 1
		}
	}
	c := rej.Methods[best]
	rej.Method, rej.Head, rej.Threshold, rej.ValTPR, rej.ValFPR = c.Method, c.Head, c.Threshold, c.ValTPR, c.ValFPR
	if c.Head != nil {
		known, err := methodScores(c, probs, ens, k, valRows, fp)
		if err != nil {
			return Reject{}, err
		}
		_, rej.ValFPR, _ = TPRAtFPR(known, nil, fpr)
	}
	// The fingerprints stay in the rule whichever method wins, so that
	// evaluation compares every method on the test weeks.
	return rej, nil
}

// FitReject sets the threshold on the ensemble probabilities of known
// validation flows so that at most fpr of them are rejected.
func FitReject(probs []float32, k int, fpr float64) Reject {
	conf := maxProb(probs, k)
	_, at, t := TPRAtFPR(conf, nil, fpr)
	return Reject{Threshold: t, TargetFPR: fpr, ValFPR: at}
}

// Unknown reports whether a flow with these probabilities is rejected.
func (r Reject) Unknown(probs []float32) bool { return slices.Max(probs) < r.Threshold }

// providerOf groups apps by provider: the name up to the first '-'
// ("google-ads" → "google"); a name without '-' is its own group.
func providerOf(app string) string {
	p, _, _ := strings.Cut(app, "-")
	return p
}

// chooseHoldout picks whole provider groups of apps to leave out of
// training until about frac of the eligible apps are out (at least one app
// when frac > 0). The choice is a seeded shuffle of the groups; a group is
// skipped when it would overshoot the target.
func chooseHoldout(eligible []string, frac float64, seed uint64) []string {
	if frac <= 0 || len(eligible) == 0 {
		return nil
	}
	target := max(1, int(frac*float64(len(eligible))+0.5))
	groups := map[string][]string{}
	var names []string
	for _, a := range eligible {
		g := providerOf(a)
		if groups[g] == nil {
			names = append(names, g)
		}
		groups[g] = append(groups[g], a)
	}
	slices.Sort(names)
	rng := rand.New(rand.NewPCG(seed, 0x40))
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	var out []string
	for _, g := range names {
		if len(out) >= target {
			break
		}
		if len(out)+len(groups[g]) > target {
			continue
		}
		out = append(out, groups[g]...)
	}
	if len(out) == 0 { // every group is larger than the target: take a smallest
		small := names[0]
		for _, g := range names {
			if len(groups[g]) < len(groups[small]) {
				small = g
			}
		}
		out = append(out, groups[small]...)
	}
	slices.Sort(out)
	return out
}

func fmtApps(apps []string) string {
	if len(apps) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", len(apps), strings.Join(apps, ", "))
}

// OpenSetHead is the known-vs-unknown head: a logistic regression on
// features of a flow's predictions (per member and ensemble: log of the
// highest probability, its gap to the second, normalised entropy; whether
// the members agree), trained on validation flows of the known classes
// against validation flows of the open-set apps — whole provider groups
// left out of training for this purpose only (Manifest.OpenSetApps), apart
// from the held-out apps that measure it. Its score is P(unknown).
type OpenSetHead struct {
	Features []string  `json:"features"`
	Mean     []float64 `json:"mean"`
	Std      []float64 `json:"std"`
	W        []float64 `json:"w"`
	B        float64   `json:"b"`
	// TrainKnown and TrainUnknown count the flows it was fitted on.
	TrainKnown   int `json:"train_known"`
	TrainUnknown int `json:"train_unknown"`
}

// headFeatures returns the head's inputs (N × len(names)) of member and
// ensemble probabilities.
func headFeatures(members [][]float32, ens []float32, k int) ([]float64, []string) {
	srcs := append([][]float32{ens}, members...)
	names := []string{}
	for j := range srcs {
		tag := "ensemble"
		if j > 0 {
			tag = fmt.Sprintf("member%d", j-1)
		}
		names = append(names, tag+"_log_max", tag+"_gap", tag+"_entropy")
	}
	names = append(names, "members_agree")
	n := len(ens) / k
	d := len(names)
	x := make([]float64, n*d)
	lk := math.Log(float64(k))
	for i := range n {
		row := x[i*d : (i+1)*d]
		first := -1
		agree := 1.0
		for j, p := range srcs {
			pr := p[i*k : (i+1)*k]
			a, b := top2(pr)
			var h float64
			for _, v := range pr {
				if v > 0 {
					h -= float64(v) * math.Log(float64(v))
				}
			}
			row[3*j] = math.Log(math.Max(float64(pr[a]), logFloor))
			row[3*j+1] = float64(pr[a] - pr[b])
			row[3*j+2] = h / lk
			if j > 0 {
				if first < 0 {
					first = a
				} else if a != first {
					agree = 0
				}
			}
		}
		row[d-1] = agree
	}
	return x, names
}

// fitOpenSetHead fits the head by class-balanced logistic regression
// (full-batch gradient descent on standardised features).
func fitOpenSetHead(x []float64, names []string, unknown []bool) *OpenSetHead {
	d := len(names)
	n := len(unknown)
	h := &OpenSetHead{Features: names, Mean: make([]float64, d), Std: make([]float64, d), W: make([]float64, d)}
	for i := range n {
		for c := range d {
			h.Mean[c] += x[i*d+c] / float64(n)
		}
		if unknown[i] {
			h.TrainUnknown++
		} else {
			h.TrainKnown++
		}
	}
	for i := range n {
		for c := range d {
			v := x[i*d+c] - h.Mean[c]
			h.Std[c] += v * v / float64(n)
		}
	}
	for c := range d {
		h.Std[c] = math.Max(math.Sqrt(h.Std[c]), 1e-6)
	}
	if h.TrainKnown == 0 || h.TrainUnknown == 0 {
		return h
	}
	wPos := float64(n) / (2 * float64(h.TrainUnknown))
	wNeg := float64(n) / (2 * float64(h.TrainKnown))
	z := make([]float64, d)
	g := make([]float64, d)
	for range 300 {
		clear(g)
		var gb float64
		for i := range n {
			s := h.B
			for c := range d {
				z[c] = (x[i*d+c] - h.Mean[c]) / h.Std[c]
				s += h.W[c] * z[c]
			}
			p := 1 / (1 + math.Exp(-s))
			y, w := 0.0, wNeg
			if unknown[i] {
				y, w = 1, wPos
			}
			e := w * (p - y) / float64(n)
			for c := range d {
				g[c] += e * z[c]
			}
			gb += e
		}
		for c := range d {
			h.W[c] -= 0.5 * (g[c] + 1e-3*h.W[c])
		}
		h.B -= 0.5 * gb
	}
	return h
}

// KnownScores returns 1 − P(unknown) of each row of the features x.
func (h *OpenSetHead) KnownScores(x []float64) []float32 {
	d := len(h.Features)
	out := make([]float32, len(x)/d)
	for i := range out {
		s := h.B
		for c := range d {
			s += h.W[c] * (x[i*d+c] - h.Mean[c]) / h.Std[c]
		}
		out[i] = float32(1 - 1/(1+math.Exp(-s)))
	}
	return out
}
