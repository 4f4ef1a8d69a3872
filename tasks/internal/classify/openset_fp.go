package classify

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// Handshake fingerprints: what tells an unseen service's flows from the
// known ones without the SNI.
//
// A TLS server's first flight (certificate chain and handshake records) has
// a length fixed by its certificate, so the bytes of the server's first run
// of packets are nearly constant per registered domain and TLS mode, and
// the ClientHello's length is fixed per client software and server name.
// Classifiers split these sizes by thresholds and so put an unseen length
// with its nearest known neighbours; an exact lookup instead asks whether
// the training flows ever showed that length. A flow whose first flight
// (or ClientHello and first flight together) no known class sent is likely
// an unseen service. The generator (tasks/internal/synth) draws the flight
// from the provider's certificate size ± a per-domain offset, so services
// of a held-out provider show lengths no known class shows; the same holds
// for real certificate chains (certificate-length fingerprinting).

// handshake is the sizes of a flow's opening packets (PPI).
type handshake struct {
	ch     int32 // first client packet (the ClientHello), 0 when the flow opens with a server packet
	flight int32 // bytes of the server's first run of packets (its first flight)
	last   int32 // the size of that run's last packet
}

func handshakeOf(r *tablerow.FlowFeatures) handshake {
	var h handshake
	p := 0
	pk := func(i int) (dir, size float32) {
		v := r.PPI[i*featuredef.PPIChannels : (i+1)*featuredef.PPIChannels]
		return v[seqnet.ChanDir], v[seqnet.ChanSize]
	}
	n := len(r.PPI) / featuredef.PPIChannels
	if n == 0 {
		return h
	}
	if d, s := pk(0); d > 0 {
		h.ch = int32(s)
		p = 1
	}
	for ; p < n; p++ {
		d, s := pk(p)
		if d >= 0 {
			break
		}
		h.flight += int32(s)
		h.last = int32(s)
	}
	return h
}

// Fingerprints count the handshake sizes of the training flows (known
// classes only): the open-set scores look flows up in them.
type Fingerprints struct {
	Rows     int             `json:"rows"`
	Flight   map[int32]int32 `json:"flight"`
	CHFlight map[int64]int32 `json:"ch_flight"`
	CH       map[int32]int32 `json:"ch"`
	Last     map[int32]int32 `json:"last"`
}

// fingerprintNames are the features Fingerprints.features returns per flow.
var fingerprintNames = []string{"fp_flight", "fp_ch_flight", "fp_ch", "fp_last"}

func chFlightKey(h handshake) int64 { return int64(h.ch)<<32 | int64(uint32(h.flight)) }

// fitFingerprints counts the handshakes of rows.
func fitFingerprints(rows []tablerow.FlowFeatures) *Fingerprints {
	f := &Fingerprints{Rows: len(rows), Flight: map[int32]int32{}, CHFlight: map[int64]int32{}, CH: map[int32]int32{}, Last: map[int32]int32{}}
	for i := range rows {
		h := handshakeOf(&rows[i])
		f.Flight[h.flight]++
		f.CHFlight[chFlightKey(h)]++
		f.CH[h.ch]++
		f.Last[h.last]++
	}
	return f
}

// features returns, per row, log1p of how many training flows had the same
// first flight, ClientHello and first flight, ClientHello, last packet of
// the first flight (N × len(fingerprintNames)).
func (f *Fingerprints) features(rows []tablerow.FlowFeatures) []float64 {
	d := len(fingerprintNames)
	x := make([]float64, len(rows)*d)
	for i := range rows {
		h := handshakeOf(&rows[i])
		x[i*d] = math.Log1p(float64(f.Flight[h.flight]))
		x[i*d+1] = math.Log1p(float64(f.CHFlight[chFlightKey(h)]))
		x[i*d+2] = math.Log1p(float64(f.CH[h.ch]))
		x[i*d+3] = math.Log1p(float64(f.Last[h.last]))
	}
	return x
}

// Open-set methods: how a flow's "known" score is computed (higher: more
// like a known class; the reject rule flags scores under its threshold).
const (
	// MethodMaxProb: the ensemble's highest probability.
	MethodMaxProb = "max_prob"
	// MethodHead: the known-vs-unknown head on the members' and the
	// ensemble's probabilities.
	MethodHead = "head"
	// MethodFingerprint: how often the training flows showed the flow's
	// server first flight (log1p of the count), ties broken by the
	// ensemble's highest probability.
	MethodFingerprint = "fingerprint"
	// MethodHeadFingerprint: the head on the probabilities and the
	// handshake fingerprint counts.
	MethodHeadFingerprint = "head_fingerprint"
)

// OpenSetMethods lists the methods in the order of preference on equal
// validation TPR (simpler first).
var OpenSetMethods = []string{MethodMaxProb, MethodFingerprint, MethodHead, MethodHeadFingerprint}

// RejectMethod is one open-set method fitted at training.
type RejectMethod struct {
	Method string `json:"method"`
	// ValTPR is the share of the open-set apps' validation flows it
	// rejects when FPR of the known validation flows are (ValFPR): for a
	// head, out of fold (fitted on half the open-set provider groups and
	// half the known flows, scored on the other halves, and back), so it
	// is not measured on its own training flows.
	ValTPR    float64 `json:"val_tpr"`
	ValFPR    float64 `json:"val_fpr"`
	CrossFit  bool    `json:"cross_fit,omitempty"`
	Threshold float32 `json:"threshold"`
	// Head is the method's head fitted on all the flows (learned methods).
	Head *OpenSetHead `json:"head,omitempty"`
}

// openSetFeatures returns the head's inputs of a prediction: the
// probability features, then the fingerprint counts when fp is set.
func openSetFeatures(members [][]float32, ens []float32, k int, rows []tablerow.FlowFeatures, fp *Fingerprints) ([]float64, []string) {
	x, names := headFeatures(members, ens, k)
	if fp == nil {
		return x, names
	}
	d, e := len(names), len(fingerprintNames)
	f := fp.features(rows)
	n := len(rows)
	out := make([]float64, n*(d+e))
	for i := range n {
		copy(out[i*(d+e):], x[i*d:(i+1)*d])
		copy(out[i*(d+e)+d:], f[i*e:(i+1)*e])
	}
	return out, append(names, fingerprintNames...)
}

// methodScores returns the known score of each flow under method m
// (learned methods need m.Head).
func methodScores(m RejectMethod, members [][]float32, ens []float32, k int, rows []tablerow.FlowFeatures, fp *Fingerprints) ([]float32, error) {
	switch m.Method {
	case MethodMaxProb, "":
		return maxProb(ens, k), nil
	case MethodFingerprint:
		if fp == nil {
			return nil, fmt.Errorf("classify: open-set method %s without fingerprints", m.Method)
		}
		f := fp.features(rows)
		conf := maxProb(ens, k)
		out := make([]float32, len(rows))
		for i := range out {
			out[i] = float32(f[i*len(fingerprintNames)]) + 1e-3*conf[i]
		}
		return out, nil
	case MethodHead, MethodHeadFingerprint:
		if m.Head == nil {
			return nil, fmt.Errorf("classify: open-set method %s without its head", m.Method)
		}
		var use *Fingerprints
		if m.Method == MethodHeadFingerprint {
			if fp == nil {
				return nil, fmt.Errorf("classify: open-set method %s without fingerprints", m.Method)
			}
			use = fp
		}
		x, names := openSetFeatures(members, ens, k, rows, use)
		if !slices.Equal(names, m.Head.Features) {
			return nil, fmt.Errorf("classify: open-set head of %s wants features %v, got %v", m.Method, m.Head.Features, names)
		}
		return m.Head.KnownScores(x), nil
	}
	return nil, fmt.Errorf("classify: unknown open-set method %q", m.Method)
}

// crossFitHead returns the out-of-fold known scores of the known flows (x
// rows of known) and the unknown flows (xu, in provider groups group) of a
// head fitted on the other fold: known flows alternate between two folds,
// unknown flows fall in the fold of their group's position in sorted
// order. ok is false when the unknown flows are of a single group.
func crossFitHead(xk, xu []float64, names []string, group []string) (known, unknown []float32, ok bool) {
	d := len(names)
	gs := slices.Clone(group)
	slices.Sort(gs)
	gs = slices.Compact(gs)
	if len(gs) < 2 {
		return nil, nil, false
	}
	foldU := make([]int, len(group))
	for i, g := range group {
		j, _ := slices.BinarySearch(gs, g)
		foldU[i] = j % 2
	}
	nk := len(xk) / d
	known = make([]float32, nk)
	unknown = make([]float32, len(group))
	for f := range 2 {
		var x []float64
		var y []bool
		var testK, testU []int
		for i := range nk {
			if i%2 == f {
				testK = append(testK, i)
				continue
			}
			x = append(x, xk[i*d:(i+1)*d]...)
			y = append(y, false)
		}
		for i := range group {
			if foldU[i] == f {
				testU = append(testU, i)
				continue
			}
			x = append(x, xu[i*d:(i+1)*d]...)
			y = append(y, true)
		}
		h := fitOpenSetHead(x, names, y)
		pick := func(src []float64, idx []int) []float64 {
			out := make([]float64, 0, len(idx)*d)
			for _, i := range idx {
				out = append(out, src[i*d:(i+1)*d]...)
			}
			return out
		}
		for j, s := range h.KnownScores(pick(xk, testK)) {
			known[testK[j]] = s
		}
		for j, s := range h.KnownScores(pick(xu, testU)) {
			unknown[testU[j]] = s
		}
	}
	return known, unknown, true
}

// fmtRejectMethods describes the rule's method and every method's
// validation TPR.
func fmtRejectMethods(r Reject) string {
	m := r.method().Method
	if len(r.Methods) == 0 {
		return m
	}
	parts := make([]string, len(r.Methods))
	for i, c := range r.Methods {
		parts[i] = fmt.Sprintf("%s %.3f", c.Method, c.ValTPR)
	}
	return fmt.Sprintf("%s; validation unknown TPR %s", m, strings.Join(parts, ", "))
}

// methodTPRs returns the unknown TPR at fpr of every method of r on a
// prediction p of rows (labels: −1 for an unknown service).
func methodTPRs(r Reject, p *Prediction, k int, rows []tablerow.FlowFeatures, labels []int, fpr float64) (map[string]Num, error) {
	if len(r.Methods) == 0 {
		return nil, nil
	}
	out := map[string]Num{}
	for _, m := range r.Methods {
		s, err := methodScores(m, p.Members, p.Probs, k, rows, r.Fingerprints)
		if err != nil {
			return nil, err
		}
		var known, unknown []float32
		for i, y := range labels {
			if y < 0 {
				unknown = append(unknown, s[i])
			} else {
				known = append(known, s[i])
			}
		}
		tpr, _, _ := TPRAtFPR(known, unknown, fpr)
		out[m.Method] = Num(tpr)
	}
	return out, nil
}

// writeOpenSetMethods prints the variant's open-set methods side by side:
// validation TPR (the choice) and TPR at the week's FPR per test week.
func writeOpenSetMethods(w io.Writer, v VariantReport) {
	if len(v.RejectValTPR) == 0 {
		return
	}
	fmt.Fprintf(w, "\nunknown-service methods (TPR when %.0f%% of known flows are rejected; validation: open-set apps, out of fold for heads):\n", 100*v.Weeks[0].OpenSet.FPR)
	fmt.Fprintf(w, "  %-18s %-9s", "method", "val")
	for _, wk := range v.Weeks {
		fmt.Fprintf(w, " %-9s", wk.Week)
	}
	fmt.Fprintln(w)
	for _, m := range OpenSetMethods {
		tpr, ok := v.RejectValTPR[m]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %-18s %-9s", m, fmtPct(tpr))
		for _, wk := range v.Weeks {
			fmt.Fprintf(w, " %-9s", fmtPct(float64(numOr(wk.OpenSet.Methods, m))))
		}
		if m == v.RejectMethod {
			fmt.Fprint(w, "  ← the bundle's rule")
		}
		fmt.Fprintln(w)
	}
}

func numOr(m map[string]Num, k string) Num {
	if v, ok := m[k]; ok {
		return v
	}
	return Num(math.NaN())
}

// openSetMethodNote describes each method in a line.
var openSetMethodNote = map[string]string{
	MethodMaxProb:         "highest ensemble probability",
	MethodFingerprint:     "training count of the server's first-flight bytes",
	MethodHead:            "logistic head on member/ensemble probabilities",
	MethodHeadFingerprint: "logistic head on probabilities + handshake counts",
}
