package synth

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Per-app drift kinds (AppDrift.Kind), each in manifest.json.
const (
	// KindClientUpdate: a new client or TLS library version: a different
	// ClientHello size and JA3, request sizes scaled, and an extra early
	// client record (a new SETTINGS/keep-alive message) in some updates.
	KindClientUpdate = "client_update"
	// KindCDNMove: the service moves to another CDN or hosting ASN: other
	// round-trip times, certificate chain size and ASN.
	KindCDNMove = "cdn_move"
	// KindAppUpdate: the server-side application changes its responses:
	// sizes scaled and a different number of exchanges.
	KindAppUpdate = "app_update"
	// KindServiceFade: the service's share falls to a fraction.
	KindServiceFade = "service_fade"
)

// AppDrift is one scripted change of one service. Adoption ramps linearly
// from 0 on From to 1 on To (a sudden change has To == From): each flow of
// the app follows the new behaviour with the day's adoption probability.
type AppDrift struct {
	App  string
	Kind string
	From time.Time
	To   time.Time
	// Effects (zero: none).
	CHDelta     int32   // ClientHello bytes added
	JA3         string  // JA3 of the updated clients
	ExtraRecord int32   // size of an extra early client record; 0: none
	ReqScale    float64 // request sizes ×
	RespScale   float64 // response sizes ×
	ExchScale   float64 // exchanges per flow ×
	RTTFactor   float64 // server round-trip time ×
	CertDelta   int32   // server handshake flight bytes added
	ASN         int64   // new destination ASN
	ShareFactor float64 // share × at full adoption (service_fade)
}

// Drift calendar of DefaultScript: per-app events drawn from a hash of the
// app's name, so the calendar is the same for every seed and documented in
// the manifest. About half of the small services and every large one change
// at least once a year (the drift studies find 83 of 159 classes drifting
// at least once), the large ones up to three times, so that a frozen
// classifier loses accuracy at about the published rate.
const (
	driftYear     = 2022
	driftAppShare = 0.5 // share of small services with a first change
	driftSecond   = 0.3 // of those, share with a second change
)

// newASNs are where services move (Cloudflare, AWS, Fastly, Akamai, Google).
var newASNs = []int64{13335, 16509, 54113, 20940, 15169}

// DefaultDrifts returns the per-app changes of DefaultScript for the active
// services except the ones the script already changes.
func DefaultDrifts() []AppDrift {
	w := getWorld()
	skip := map[string]bool{"docker-registry": true, "tinder": true, "facebook-graph": true, "spotify": true}
	start := time.Date(driftYear, 1, 15, 0, 0, 0, 0, time.UTC)
	var out []AppDrift
	for _, a := range w.apps {
		if !a.active || skip[a.name] {
			continue
		}
		h := hash64("drift:" + a.name)
		// Large services release and move more often: every service with
		// ≥ 0.5 % of the flows changes, up to three times a year.
		big := math.Min(1, a.share/0.5)
		if unit(sub(h, 0)) >= driftAppShare+(1-driftAppShare)*big {
			continue
		}
		n := 1
		if unit(sub(h, 1)) < driftSecond+(1-driftSecond)*big {
			n = 2
		}
		if unit(sub(h, 2)) < 0.4*big {
			n = 3
		}
		for e := range n {
			g := sub(h, 10+e)
			from := start.AddDate(0, 0, int(unit(sub(g, 0))*330))
			span := 0
			if unit(sub(g, 1)) < 0.5 {
				span = 7 + int(unit(sub(g, 2))*35)
			}
			d := AppDrift{App: a.name, From: from, To: from.AddDate(0, 0, span)}
			k := unit(sub(g, 3))
			switch {
			case k < 0.45:
				d.Kind = KindClientUpdate
				d.CHDelta = int32([]int{64, 128, -96, 192, 256, -160}[int(unit(sub(g, 4))*6)])
				d.JA3 = fmt.Sprintf("%016x%016x", sub(g, 5), sub(g, 6))
				d.ReqScale = math.Exp(0.9 * gauss(sub(g, 7)))
				if unit(sub(g, 8)) < 0.8 {
					d.ExtraRecord = 30 + int32(unit(sub(g, 9))*90)
				}
			case k < 0.7:
				d.Kind = KindCDNMove
				d.RTTFactor = math.Exp(1.2 * gauss(sub(g, 4)))
				d.CertDelta = int32(1200 * gauss(sub(g, 5)))
				d.ASN = newASNs[int(unit(sub(g, 6))*float64(len(newASNs)))]
			case k < 0.92 || a.share >= 0.3:
				// Only small services fade: the category mix of the
				// dataset's months stays as published.
				d.Kind = KindAppUpdate
				d.RespScale = math.Exp(1.2 * gauss(sub(g, 4)))
				d.ReqScale = math.Exp(0.6 * gauss(sub(g, 5)))
				d.ExchScale = math.Exp(0.7 * gauss(sub(g, 6)))
			default:
				d.Kind = KindServiceFade
				d.ShareFactor = 0.15 + 0.3*unit(sub(g, 4))
				if span == 0 {
					d.To = from.AddDate(0, 0, 30)
				}
			}
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].From.Equal(out[j].From) {
			return out[i].From.Before(out[j].From)
		}
		return out[i].App < out[j].App
	})
	return out
}

// adoption is the share of an app's flows following the drift on day.
func (d AppDrift) adoption(day time.Time) float64 {
	switch {
	case day.Before(d.From):
		return 0
	case !day.Before(d.To):
		return 1
	}
	return day.Sub(d.From).Hours() / d.To.Sub(d.From).Hours()
}

// appShift is the drift of one app on one day: the events in force with
// their adoption, in calendar order.
type appShift struct {
	events []AppDrift
	adopt  []float64
}

// shiftsOf returns the shifts of the apps with a drift in force on day.
func shiftsOf(s *Script, day time.Time) map[*app]appShift {
	w := getWorld()
	out := map[*app]appShift{}
	for _, d := range s.Drifts {
		a, ok := w.byName[d.App]
		if !ok {
			continue
		}
		if p := d.adoption(day); p > 0 {
			sh := out[a]
			sh.events = append(sh.events, d)
			sh.adopt = append(sh.adopt, p)
			out[a] = sh
		}
	}
	return out
}

// shareFactor is the multiplier of an app's share on a day.
func (s appShift) shareFactor() float64 {
	f := 1.0
	for i, d := range s.events {
		if d.Kind == KindServiceFade {
			f *= 1 - s.adopt[i]*(1-d.ShareFactor)
		}
	}
	return f
}

// flowEffects are the changes one flow follows.
type flowEffects struct {
	chDelta, extraRecord, certDelta int32
	ja3                             string
	reqScale, respScale, exchScale  float64
	rttFactor                       float64
	asn                             int64
}

func noEffects() flowEffects {
	return flowEffects{reqScale: 1, respScale: 1, exchScale: 1, rttFactor: 1}
}

// draw decides which events a flow follows (one uniform draw per event
// still being adopted) and combines their effects.
func (s appShift) draw(u func() float64) flowEffects {
	e := noEffects()
	for i, d := range s.events {
		if s.adopt[i] < 1 && u() >= s.adopt[i] {
			continue
		}
		e.chDelta += d.CHDelta
		e.certDelta += d.CertDelta
		if d.ExtraRecord > 0 {
			e.extraRecord = d.ExtraRecord
		}
		if d.JA3 != "" {
			e.ja3 = d.JA3
		}
		if d.ASN != 0 {
			e.asn = d.ASN
		}
		for _, p := range []struct {
			dst *float64
			v   float64
		}{{&e.reqScale, d.ReqScale}, {&e.respScale, d.RespScale}, {&e.exchScale, d.ExchScale}, {&e.rttFactor, d.RTTFactor}} {
			if p.v > 0 {
				*p.dst *= p.v
			}
		}
	}
	return e
}
