package classify

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// ppiRow returns a flow_features row whose PPI holds the signed sizes
// (+ client, − server).
func ppiRow(app string, sizes ...int) tablerow.FlowFeatures {
	r := tablerow.FlowFeatures{App: app, Stats: make([]float32, len(featuredef.FeatureStats)),
		PHist: make([]float32, 4*cesnet.PHistBins), PPI: make([]float32, cesnet.PPIMaxLen*featuredef.PPIChannels)}
	for i, s := range sizes {
		pk := r.PPI[i*featuredef.PPIChannels : (i+1)*featuredef.PPIChannels]
		pk[seqnet.ChanDir], pk[seqnet.ChanSize] = 1, float32(s)
		if s < 0 {
			pk[seqnet.ChanDir], pk[seqnet.ChanSize] = -1, float32(-s)
		}
	}
	return r
}

func TestHandshakeOf(t *testing.T) {
	for _, c := range []struct {
		name  string
		sizes []int
		want  handshake
	}{
		{"hello and a three-packet flight", []int{517, -1448, -1448, -1221, 64, -115}, handshake{ch: 517, flight: 4117, last: 1221}},
		{"single-packet flight", []int{675, -169, 64}, handshake{ch: 675, flight: 169, last: 169}},
		{"server first", []int{-300, -200, 50}, handshake{flight: 500, last: 200}},
		{"hello only", []int{517}, handshake{ch: 517}},
		{"empty", nil, handshake{}},
	} {
		r := ppiRow("a", c.sizes...)
		if got := handshakeOf(&r); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestFingerprintMethod: known services send first flights from one set of
// lengths, unseen ones from another; the fingerprint score rejects the
// unseen ones at 5 % FPR where the highest probability cannot tell them
// apart, and a head on the fingerprint counts learns the same from one
// provider group and carries over to another.
func TestFingerprintMethod(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const k = 3
	flows := func(n int, apps []string, flights []int) ([]tablerow.FlowFeatures, []float32) {
		rows := make([]tablerow.FlowFeatures, n)
		probs := make([]float32, n*k)
		for i := range rows {
			f := flights[rng.IntN(len(flights))]
			rows[i] = ppiRow(apps[rng.IntN(len(apps))], 517+rng.IntN(3), -1448, -(f - 1448), 64)
			c := rng.IntN(k)
			for j := range k {
				probs[i*k+j] = 0.1
			}
			probs[i*k+c] = 0.8 // equally confident on known and unknown flows
		}
		return rows, probs
	}
	knownFlights := []int{3900, 4050, 4410, 4800}
	train, _ := flows(400, []string{"a"}, knownFlights)
	val, pv := flows(300, []string{"a"}, knownFlights)
	open, po := flows(300, []string{"x-1", "y-1"}, []int{3950, 4500, 5100})
	test, pt := flows(200, []string{"z-1"}, []int{4000, 4700})
	fp := fitFingerprints(train)
	if fp.Rows != 400 || len(fp.Flight) != len(knownFlights) {
		t.Fatalf("fingerprints of %d rows, %d flights; want 400 rows, %d flights", fp.Rows, len(fp.Flight), len(knownFlights))
	}
	m := RejectMethod{Method: MethodFingerprint}
	ks, err := methodScores(m, nil, pv, k, val, fp)
	if err != nil {
		t.Fatal(err)
	}
	us, err := methodScores(m, nil, pt, k, test, fp)
	if err != nil {
		t.Fatal(err)
	}
	if tpr, at, _ := TPRAtFPR(ks, us, 0.05); tpr < 0.99 || at > 0.05 {
		t.Errorf("fingerprint: TPR %.3f at FPR %.3f, want all unseen flights rejected", tpr, at)
	}
	if tpr, _, _ := TPRAtFPR(maxProb(pv, k), maxProb(pt, k), 0.05); tpr > 0.2 {
		t.Errorf("max probability: TPR %.3f; the test data should not let it separate", tpr)
	}
	// The head on probabilities + fingerprints, cross-fitted by group.
	members := [][]float32{pv}
	xk, names := openSetFeatures(members, pv, k, val, fp)
	xu, _ := openSetFeatures([][]float32{po}, po, k, open, fp)
	if len(names) != 3*2+1+len(fingerprintNames) || len(xk) != len(val)*len(names) {
		t.Fatalf("features %v, %d values", names, len(xk))
	}
	group := make([]string, len(open))
	for i := range open {
		group[i] = providerOf(open[i].App)
	}
	kk, uu, ok := crossFitHead(xk, xu, names, group)
	if !ok {
		t.Fatal("two provider groups: not cross-fitted")
	}
	if tpr, _, _ := TPRAtFPR(kk, uu, 0.05); tpr < 0.9 {
		t.Errorf("cross-fitted head TPR %.3f, want ≥ 0.9", tpr)
	}
	if _, _, ok := crossFitHead(xk, xu, names, make([]string, len(open))); ok {
		t.Error("one provider group: cross-fitted")
	}
	// Methods that need what they lack fail clearly.
	if _, err := methodScores(RejectMethod{Method: MethodHeadFingerprint}, members, pv, k, val, fp); err == nil {
		t.Error("head method without a head: no error")
	}
	if _, err := methodScores(m, members, pv, k, val, nil); err == nil {
		t.Error("fingerprint method without fingerprints: no error")
	}
	if _, err := methodScores(RejectMethod{Method: "nope"}, members, pv, k, val, fp); err == nil {
		t.Error("unknown method: no error")
	}
	// Old bundles: no method, a head → the head; none → max probability.
	if got := (Reject{}).method().Method; got != MethodMaxProb {
		t.Errorf("empty rule: method %s", got)
	}
	if got := (Reject{Head: &OpenSetHead{}}).method().Method; got != MethodHead {
		t.Errorf("rule with a head: method %s", got)
	}
	if math.IsNaN(float64(ks[0])) {
		t.Error("NaN score")
	}
}
