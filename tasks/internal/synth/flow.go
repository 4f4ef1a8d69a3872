package synth

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
)

// A flow is simulated packet by packet from the TCP handshake until the
// packet sequence (PPI) holds its 30 packets; the rest of the flow (bulk
// bursts, further exchanges) is accounted in closed form into the counters
// and histograms. So the PPI, PPI_LEN, PPI_DURATION and PPI_ROUNDTRIPS are
// exact functions of the simulated packets, BYTES/PACKETS count every
// packet (payload, retransmitted, zero-payload), and PHIST_* cover the whole
// flow, retransmissions included (DATASET.md §2.2).

const (
	cli = 0 // client → server, PPI direction +1
	srv = 1 // server → client, PPI direction −1

	activeTimeoutUs = 300e6 // exporter active timeout: longer flows are cut
	idleTimeoutUs   = 65e6  // exporter inactive timeout: a longer pause ends the flow
	maxExchanges    = 4000
)

// dayState is what a flow needs to know about its day.
type dayState struct {
	oldExporter bool // before the week-10 update: retransmissions are in the PPI
	slowPeering bool // before the week-6 peering change
	changed     bool // the scripted behaviour change is in force
	// shifts are the per-app drifts in force (Script.Drifts).
	shifts map[*app]appShift
}

// spuriousShare is the share of flows with a spurious retransmission of the
// server's handshake flight (reordering on the path): in the PPI before the
// exporter update, left out after it; always in PHIST and the counters.
const spuriousShare = 0.25

// slowPeeringASNs reached CESNET over a longer path before the peering
// change (DATASET.md §5.1: a step change at week 6).
func slowPeeringASN(asn int64) bool { return asn == 8075 || asn == 8068 || asn == 20940 }

const slowPeeringFactor = 1.8

type flowGen struct {
	r *rand.Rand
	w *world
	f cesnet.Flow

	// per-flow state
	t        int64 // µs since TIME_FIRST (the SYN)
	full     bool  // the PPI holds 30 packets
	oldExp   bool
	cut      bool // reached the active timeout
	idled    bool // a pause reached the inactive timeout
	lastT    [2]int64
	lastPPI  int64
	ppiSum   int64
	nPay     [2]int64
	payBytes [2]int64
	sizeH    [2][cesnet.PHistBins]int64
	iptH     [2][cesnet.PHistBins]int64
	push     [2]bool
	mss      int64
	rtt      float64 // µs, client ↔ server (paces the congestion window)
	rttS     float64 // µs, probe ↔ server: what the probe sees before a reply
	rttC     float64 // µs, probe ↔ client
	bw       float64 // bytes per µs
	cwnd     int64
	cwndMax  int64
	loss     float64
	eff      flowEffects // the app drifts this flow follows
}

func newFlowGen(w *world) *flowGen {
	g := &flowGen{w: w}
	f := &g.f
	f.PPIIPT = make([]int32, 0, cesnet.PPIMaxLen)
	f.PPIDir = make([]int32, 0, cesnet.PPIMaxLen)
	f.PPISize = make([]int32, 0, cesnet.PPIMaxLen)
	f.PPIPush = make([]int32, 0, cesnet.PPIMaxLen)
	f.PHistSrcSizes = make([]int32, cesnet.PHistBins)
	f.PHistDstSizes = make([]int32, cesnet.PHistBins)
	f.PHistSrcIPT = make([]int32, cesnet.PHistBins)
	f.PHistDstIPT = make([]int32, cesnet.PHistBins)
	return g
}

// phistBin is the bin of a size in bytes or a gap in ms: 0–15, 16–31,
// 32–63, 64–127, 128–255, 256–511, 512–1024, >1024.
func phistBin(v int64) int {
	switch {
	case v < 16:
		return 0
	case v < 32:
		return 1
	case v < 64:
		return 2
	case v < 128:
		return 3
	case v < 256:
		return 4
	case v < 512:
		return 5
	case v <= 1024:
		return 6
	}
	return 7
}

func (g *flowGen) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.r.NormFloat64())
}

func (g *flowGen) poisson(lambda float64) int64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int64(math.Round(lambda+math.Sqrt(lambda)*g.r.NormFloat64())))
	}
	l := math.Exp(-lambda)
	var k int64
	for p := g.r.Float64(); p > l; p *= g.r.Float64() {
		k++
	}
	return k
}

// send records one payload packet at the current time.
func (g *flowGen) send(d int, size int64, push, retx bool) {
	if g.lastT[d] >= 0 {
		g.iptH[d][phistBin((g.t-g.lastT[d])/1000)]++
	}
	g.lastT[d] = g.t
	g.nPay[d]++
	g.payBytes[d] += size
	g.sizeH[d][phistBin(size)]++
	if push {
		g.push[d] = true
	}
	if g.full || (retx && !g.oldExp) {
		return
	}
	f := &g.f
	ipt := int32(0)
	if len(f.PPIDir) > 0 {
		ipt = int32((g.t - g.lastPPI) / 1000)
	}
	g.lastPPI = g.t
	g.ppiSum += int64(ipt)
	dir := int32(1)
	if d == srv {
		dir = -1
	}
	p := int32(0)
	if push {
		p = 1
	}
	f.PPIIPT = append(f.PPIIPT, ipt)
	f.PPIDir = append(f.PPIDir, dir)
	f.PPISize = append(f.PPISize, int32(size))
	f.PPIPush = append(f.PPIPush, p)
	g.full = len(f.PPIDir) == cesnet.PPIMaxLen
}

// burst sends a message of n bytes in MSS segments, paced by the
// congestion window: one window per RTT (or per what the bottleneck allows),
// with losses retransmitted a round trip later. The last segment carries
// PSH.
func (g *flowGen) burst(d int, n int64) {
	if n <= 0 || g.cut {
		return
	}
	segs := (n + g.mss - 1) / g.mss
	last := n - (segs-1)*g.mss
	var sent int64
	for sent < segs {
		if g.t > activeTimeoutUs {
			g.cut = true
			return
		}
		if g.full {
			g.burstRest(d, segs-sent, last)
			return
		}
		k := min(g.cwnd, segs-sent)
		for j := range k {
			if j > 0 {
				g.t += 5 + g.r.Int64N(60)
			}
			size := g.mss
			final := sent+j == segs-1
			if final {
				size = last
			}
			g.send(d, size, final, false)
			if g.full && j+1 < k {
				sent += j + 1
				g.burstRest(d, segs-sent, last)
				return
			}
		}
		sent += k
		lost := g.poisson(float64(k) * g.loss)
		if sent < segs || lost > 0 {
			g.t += g.windowWait(k)
			if g.t > activeTimeoutUs {
				g.cut = true
				return
			}
			for range lost {
				g.send(d, g.mss, false, true)
				g.t += 10 + g.r.Int64N(40)
			}
			if lost > 0 {
				g.cwnd = max(4, g.cwnd/2)
			} else {
				g.cwnd = min(g.cwndMax, g.cwnd*2)
			}
		}
	}
}

func (g *flowGen) windowWait(k int64) int64 {
	wait := math.Max(g.rtt, float64(k*g.mss)/g.bw)
	return int64(wait * (0.9 + 0.2*g.r.Float64()))
}

// burstRest accounts the remaining segs segments of a burst (the last of
// them last bytes long) in closed form, once the PPI is full.
func (g *flowGen) burstRest(d int, segs, last int64) {
	if segs <= 0 {
		return
	}
	// Slow start to cwndMax, then steady windows.
	var rounds, covered int64
	for w := g.cwnd; covered < segs && w < g.cwndMax; w *= 2 {
		covered += w
		rounds++
	}
	if covered < segs {
		rounds += (segs - covered + g.cwndMax - 1) / g.cwndMax
	}
	wait := g.windowWait(min(segs, g.cwndMax))
	if over := g.t + (rounds-1)*wait - activeTimeoutUs; over > 0 && rounds > 1 {
		// The active timeout cuts the flow: only part of the burst is in it.
		keep := max(1, rounds-1-over/wait)
		segs = max(1, segs*keep/rounds)
		rounds = keep
		last = g.mss
		g.cut = true
	}
	lost := g.poisson(float64(segs) * g.loss)
	if segs == 1 {
		g.send(d, last, true, false)
	} else {
		// The first segment after the gap since the direction's last
		// packet, then back-to-back within a window and one wait between
		// windows, the last segment with PSH.
		g.send(d, g.mss, false, false)
		windows := min(rounds-1, segs-2)
		g.run(d, segs-2-windows, g.mss, 0, true)
		g.run(d, windows, g.mss, wait, true)
		g.t += 30
		g.send(d, last, true, false)
	}
	if lost > 0 {
		g.run(d, lost, g.mss, int64(g.rtt), false)
	}
	g.cwnd = g.cwndMax
}

// run accounts n equal packets of one direction spaced gap µs apart,
// outside the PPI; with advance false they interleave with what was sent
// (retransmissions) and the clock stays.
func (g *flowGen) run(d int, n, size, gap int64, advance bool) {
	if n <= 0 {
		return
	}
	if advance {
		g.t += n * gap
		g.lastT[d] = g.t
	}
	g.nPay[d] += n
	g.payBytes[d] += n * size
	g.sizeH[d][phistBin(size)] += n
	g.iptH[d][phistBin(gap/1000)] += n
}

// flow generates one flow of app a starting at startUs (unix µs, UTC) into
// g.f.
func (g *flowGen) flow(a *app, ds dayState, id, startUs int64) *cesnet.Flow {
	r := g.r
	modes, pops := a.modes, a.pops
	if a.changed != nil && ds.changed {
		modes, pops = a.changed.modes, a.changed.pops
	}
	pop := pick(pops, r.Float64())
	m := pick(modes, r.Float64())
	g.eff = noEffects()
	if sh, ok := ds.shifts[a]; ok {
		g.eff = sh.draw(r.Float64)
	}
	if pop.browser && r.Float64() < preconnectShare {
		m = preMode
	}
	hi := 0
	for u := r.Float64(); hi < len(a.hostCum)-1 && u >= a.hostCum[hi]; hi++ {
	}
	sni, cert := a.hosts[hi], a.hostCert[hi]
	s := a.servers[r.IntN(len(a.servers))]
	os := pick(pop.os, r.Float64())
	pool := g.w.clients.byOS[os]
	// Client activity is skewed: a few hosts (NATs, heavy users) make much
	// of the traffic.
	c := pool[int(float64(len(pool))*math.Pow(r.Float64(), 2.2))]
	v6 := c.ip6 != "" && s.ip6 != "" && r.Float64() < 0.75

	// Reset per-flow state.
	f := &g.f
	ipt, dir, size, push := f.PPIIPT[:0], f.PPIDir[:0], f.PPISize[:0], f.PPIPush[:0]
	h := [4][]int32{f.PHistSrcSizes, f.PHistDstSizes, f.PHistSrcIPT, f.PHistDstIPT}
	*f = cesnet.Flow{PPIIPT: ipt, PPIDir: dir, PPISize: size, PPIPush: push,
		PHistSrcSizes: h[0], PHistDstSizes: h[1], PHistSrcIPT: h[2], PHistDstIPT: h[3]}
	g.t, g.full, g.cut, g.idled, g.oldExp = 0, false, false, false, ds.oldExporter
	g.lastT = [2]int64{-1, -1}
	g.lastPPI, g.ppiSum = 0, 0
	g.nPay, g.payBytes = [2]int64{}, [2]int64{}
	g.sizeH, g.iptH = [2][cesnet.PHistBins]int64{}, [2][cesnet.PHistBins]int64{}
	g.push = [2]bool{}

	// Path.
	// The probe sits on the backbone: it sees a stable probe ↔ server
	// round trip before each server reply and the client's access latency
	// (wired campus or Wi-Fi) before each client reaction.
	g.rttS = 1000 * s.rtt * math.Exp(0.05*r.NormFloat64())
	if ds.slowPeering && slowPeeringASN(s.asn) {
		g.rttS *= slowPeeringFactor
	}
	g.rttS *= g.eff.rttFactor
	if os == osAndroid || os == osIOS {
		g.rttC = 1000 * g.lognormal(3, 0.7) // Wi-Fi
	} else {
		g.rttC = 1000 * g.lognormal(0.3, 0.5)
	}
	g.rtt = g.rttS + g.rttC
	ts := pop.ts && s.ts
	g.mss = 1460
	if ts {
		g.mss = 1448
	}
	if v6 {
		g.mss -= 20
	}
	g.bw = math.Min(100, math.Max(0.05, g.lognormal(4, 1.0)))
	g.cwnd = 10
	g.cwndMax = min(400, max(10, int64(g.bw*g.rtt)/g.mss))
	g.loss = math.Min(0.08, s.loss*g.lognormal(1, 0.8))
	tls13 := r.Float64() < pop.tls13 && r.Float64() < a.prov.tls13
	resumed := r.Float64() < pop.resume
	// Some connections end during the handshake: the client gives up
	// (certificate check, app closed, raced connection).
	abort := r.Float64() < abortShare

	// TCP handshake, then ClientHello.
	g.t = int64(g.rtt) + 30 + r.Int64N(300) // SYN, SYN-ACK, ACK
	ch := int64(pop.chPad)
	if ch == 0 {
		ch = int64(pop.chBase) + int64(len(sni))
	}
	if resumed && tls13 {
		ch += 150 + int64(len(sni))/2
	}
	if g.eff.chDelta != 0 {
		ch = min(780, max(160, ch+int64(g.eff.chDelta)))
	}
	g.send(cli, ch, true, false)
	g.t += int64(g.rttS) + int64(g.lognormal(400, 0.8))
	var flight int64
	switch {
	case tls13 && resumed:
		flight = int64(a.prov.resume13)
	case tls13:
		flight = int64(cert + a.prov.extra13)
	case resumed:
		flight = int64(a.prov.resume12)
	default:
		flight = int64(cert + a.prov.extra12)
	}
	if !resumed {
		flight = max(300, flight+int64(g.eff.certDelta))
	}
	g.burst(srv, flight)
	if r.Float64() < spuriousShare {
		g.t += 200 + r.Int64N(800)
		g.send(srv, min(flight, g.mss), false, true)
	}
	clientProc := g.lognormal(900, 0.6)
	if os == osAndroid || os == osIOS {
		clientProc *= 3
	}
	g.t += int64(g.rttC + clientProc)
	tickets := 0
	switch {
	case abort:
		m = abortMode
	case tls13:
		g.send(cli, int64(pop.fin), true, false)
		if !resumed {
			tickets = a.prov.tickets
		}
	case !resumed:
		g.send(cli, int64(pop.cke), true, false)
		g.t += int64(g.rttS) + 200
		g.send(srv, int64(a.prov.ticket12), true, false)
	default:
		g.send(cli, 51, true, false)
	}

	g.exchanges(m, pop, tickets, a.prov.ticket)

	// Flow end.
	var end int // 0 idle, 1 active, 2 end, 3 other
	rstC, rstS, finC, finS := false, false, false, false
	lastPkt := max(g.lastT[cli], g.lastT[srv])
	closeDelay := int64(1000*math.Min(60000, g.lognormal(m.closeMs, 1.0))) + int64(g.rtt)
	switch {
	case g.cut || g.t > activeTimeoutUs:
		end = 1
		g.t = lastPkt
	case r.Float64() < 0.003:
		end = 3
		g.t = lastPkt
	case g.idled || r.Float64() < m.pIdle:
		end = 0
		g.t = lastPkt
	case g.t+closeDelay > activeTimeoutUs:
		end = 1 // the close comes after the active timeout
		g.t = lastPkt
	default:
		end = 2
		g.t += closeDelay - int64(g.rtt)
		if r.Float64() < 0.45 {
			alert := int64(31)
			if tls13 {
				alert = 24
			}
			g.send(cli, alert, true, false)
		}
		if r.Float64() < m.pRST {
			if r.Float64() < 0.6 {
				rstC = true
			} else {
				rstS, finC = true, true
			}
		} else {
			finC, finS = true, true
		}
		g.t += int64(g.rtt)
	}
	dur := g.t

	// Counters: payload packets plus SYN/ACK/FIN/RST and delayed ACKs.
	b2i := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	pk := g.nPay[cli] + 2 + (g.nPay[srv]+1)/2 + b2i(finC) + b2i(rstC)
	pkRev := g.nPay[srv] + 1 + (g.nPay[cli]+1)/2 + b2i(finS) + b2i(rstS)
	hdr := int64(40)
	if v6 {
		hdr = 60
	}
	if ts {
		hdr += 12
	}
	f.ID = id
	f.SrcIP, f.DstIP = c.ip4, s.ip4
	if v6 {
		f.SrcIP, f.DstIP = c.ip6, s.ip6
	}
	f.DstASN, f.DstPort, f.Protocol = s.asn, 443, 6
	if g.eff.asn != 0 {
		f.DstASN = g.eff.asn
	}
	f.TLSSNI = sni
	f.TLSJA3 = pick(pop.ja3, r.Float64())
	if g.eff.ja3 != "" {
		f.TLSJA3 = g.eff.ja3
	}
	f.TimeFirst = time.UnixMicro(startUs).UTC()
	f.TimeLast = time.UnixMicro(startUs + dur).UTC()
	f.Duration = float64(dur) / 1e6
	f.Packets, f.PacketsRev = pk, pkRev
	f.Bytes = g.payBytes[cli] + pk*hdr + 12
	f.BytesRev = g.payBytes[srv] + pkRev*hdr + 12
	f.PPILen = int32(len(f.PPIDir))
	f.PPIDuration = float64(g.ppiSum) / 1000
	for i := 0; i+1 < len(f.PPIDir); i++ {
		if f.PPIDir[i] == 1 && f.PPIDir[i+1] == -1 {
			f.PPIRoundtrips++
		}
	}
	f.App, f.Category = a.name, a.category
	ecn := r.Float64() < pop.ecn
	f.FlagCWR, f.FlagECE = ecn, ecn
	f.FlagECERev = ecn && s.ecn
	f.FlagACK, f.FlagACKRev = true, true
	f.FlagSYN, f.FlagSYNRev = true, true
	f.FlagPSH, f.FlagPSHRev = g.push[cli], g.push[srv]
	f.FlagFIN, f.FlagFINRev = finC, finS
	f.FlagRST, f.FlagRSTRev = rstC, rstS
	f.EndReasonIdle, f.EndReasonActive, f.EndReasonEnd, f.EndReasonOther = end == 0, end == 1, end == 2, end == 3
	for b := range cesnet.PHistBins {
		f.PHistSrcSizes[b] = int32(g.sizeH[cli][b])
		f.PHistDstSizes[b] = int32(g.sizeH[srv][b])
		f.PHistSrcIPT[b] = int32(g.iptH[cli][b])
		f.PHistDstIPT[b] = int32(g.iptH[srv][b])
	}
	return f
}

// exchanges runs the application part of a flow.
func (g *flowGen) exchanges(m mode, pop *population, tickets int, ticket int32) {
	r := g.r
	sendTickets := func() {
		for range tickets {
			g.send(srv, int64(ticket), true, false)
			g.t += 20 + r.Int64N(200)
		}
		tickets = 0
	}
	if m.kind == mAbort {
		return
	}
	if m.kind == mPre {
		if tickets > 0 {
			g.t += int64(g.rttS)
			sendTickets()
		}
		return
	}
	n := 1 + int(m.exch*r.ExpFloat64())
	if m.kind == mRT || m.kind == mPush || m.kind == mWeb {
		n = 1 + int(m.exch*r.ExpFloat64()*r.ExpFloat64())
	}
	n = min(max(1, int(float64(n)*g.eff.exchScale+0.5)), maxExchanges)
	for i := 0; i < n && !g.cut; i++ {
		if g.t > activeTimeoutUs {
			g.cut = true
			return
		}
		if i == 0 {
			g.t += 50 + r.Int64N(800)
		} else {
			gap := int64(1000 * g.lognormal(m.gap, m.gapSig))
			if gap > idleTimeoutUs {
				g.idled = true
				return
			}
			g.t += gap
			if g.t > activeTimeoutUs {
				g.cut = true
				return
			}
		}
		if i == 0 && pop.h2 {
			g.send(cli, int64(pop.preface), true, false) // HTTP/2 preface and SETTINGS
			g.t += 10 + r.Int64N(100)
		}
		if i == 0 && g.eff.extraRecord > 0 {
			g.send(cli, int64(g.eff.extraRecord), true, false) // an updated client's extra record
			g.t += 10 + r.Int64N(100)
		}
		sig := i == 0 && r.Float64() < m.pSig
		if m.kind == mRT || m.kind == mPush {
			// Messages both ways; some get an answer.
			pc := 0.5
			if m.kind == mPush {
				pc = 0.35
			}
			d, sz := srv, g.lognormal(m.resp, m.respSig)*g.eff.respScale
			if r.Float64() < pc {
				d, sz = cli, g.lognormal(m.req, m.reqSig)*g.eff.reqScale
			}
			if sig {
				d, sz = cli, float64(m.sigReq)
			}
			g.burst(d, max(20, int64(sz)))
			if r.Float64() < 0.5 || sig {
				wait := g.rttS
				if d == srv {
					wait = g.rttC
				}
				g.t += int64(wait + 1000*g.lognormal(m.think, 0.8))
				if tickets > 0 {
					sendTickets()
				}
				other, osz := 1-d, g.lognormal(m.req, m.reqSig)
				if other == srv {
					osz = g.lognormal(m.resp, m.respSig)
					if sig && m.sigResp > 0 {
						osz = float64(m.sigResp)
					}
				}
				g.burst(other, max(20, int64(osz)))
			}
			continue
		}
		req := int64(g.lognormal(m.req, m.reqSig) * g.eff.reqScale)
		resp := int64(g.lognormal(m.resp, m.respSig) * g.eff.respScale)
		if sig {
			// Machine clients send the same bytes every time; browsers
			// vary a little (cookies, paths).
			req = int64(float64(m.sigReq) * g.eff.reqScale)
			if pop.browser {
				req += r.Int64N(5) - 2
			}
			if m.sigResp > 0 {
				resp = int64(float64(m.sigResp) * g.eff.respScale)
			}
		}
		if i == 1 && r.Float64() < m.pSig {
			req, resp = int64(m.sigReq2), int64(m.sigResp2)
			if pop.browser {
				req, resp = req+r.Int64N(9)-4, resp+r.Int64N(9)-4
			}
		}
		g.burst(cli, max(30, req))
		g.t += int64(g.rttS + 1000*g.lognormal(m.think, 0.8))
		if tickets > 0 {
			sendTickets()
		}
		g.burst(srv, max(20, resp))
		if pop.h2 && resp > 65535 && r.Float64() < 0.5 {
			g.t += 100 + r.Int64N(2000)
			g.send(cli, 35+r.Int64N(8), true, false) // HTTP/2 WINDOW_UPDATE
		}
	}
}
