package synth

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
)

// The world is everything about the traffic that does not change from seed
// to seed: which apps exist, their shares, hosts, servers, client software
// and packet templates. It is a pure function of the tables in this package
// (hash-derived jitter, no RNG state), so every seed describes the same
// Internet; the seed only drives the traffic.

type family uint8

const (
	famWork family = iota
	famLeisure
	famBackground
	numFamilies
)

type modeKind uint8

const (
	mTiny   modeKind = iota // OCSP, connectivity checks: one small exchange
	mAPI                    // JSON API calls
	mWeb                    // page loads
	mAds                    // ad auctions and pixels
	mTele                   // telemetry uploads
	mBulk                   // downloads
	mUpload                 // uploads
	mPush                   // long-lived notification channels
	mStream                 // media segments
	mRT                     // real-time messaging
	mPre                    // browser preconnect: handshake, then nothing
	mAbort                  // the client closes right after the handshake
)

// modeBase are the mean parameters of each mode; apps jitter them.
var modeBase = map[string]mode{
	"tiny":   {kind: mTiny, exch: 0.1, req: 260, reqSig: 0.3, resp: 900, respSig: 0.6, think: 4, gap: 60, gapSig: 0.8, pIdle: 0.15, closeMs: 40, pRST: 0.08},
	"api":    {kind: mAPI, exch: 1.2, req: 420, reqSig: 0.5, resp: 1300, respSig: 1.0, think: 25, gap: 500, gapSig: 1.2, pIdle: 0.40, closeMs: 1500, pRST: 0.06},
	"web":    {kind: mWeb, exch: 3.0, req: 480, reqSig: 0.4, resp: 7000, respSig: 1.3, think: 30, gap: 120, gapSig: 1.3, pIdle: 0.45, closeMs: 3000, pRST: 0.05},
	"ads":    {kind: mAds, exch: 1.6, req: 750, reqSig: 0.4, resp: 450, respSig: 1.4, think: 40, gap: 300, gapSig: 1.0, pIdle: 0.35, closeMs: 1200, pRST: 0.07},
	"tele":   {kind: mTele, exch: 0.8, req: 2600, reqSig: 0.9, resp: 160, respSig: 0.5, think: 30, gap: 2000, gapSig: 1.0, pIdle: 0.30, closeMs: 400, pRST: 0.05},
	"bulk":   {kind: mBulk, exch: 0.5, req: 380, reqSig: 0.3, resp: 350000, respSig: 2.0, think: 35, gap: 500, gapSig: 1.0, pIdle: 0.30, closeMs: 800, pRST: 0.06},
	"upload": {kind: mUpload, exch: 0.6, req: 150000, reqSig: 1.6, resp: 320, respSig: 0.4, think: 60, gap: 500, gapSig: 1.0, pIdle: 0.30, closeMs: 800, pRST: 0.05},
	"push":   {kind: mPush, exch: 12, req: 45, reqSig: 0.4, resp: 320, respSig: 0.7, think: 5, gap: 24000, gapSig: 0.5, pIdle: 0.75, closeMs: 2000, pRST: 0.10},
	"stream": {kind: mStream, exch: 6.0, req: 520, reqSig: 0.3, resp: 280000, respSig: 1.0, think: 30, gap: 4000, gapSig: 0.6, pIdle: 0.50, closeMs: 3000, pRST: 0.08},
	"rt":     {kind: mRT, exch: 30, req: 130, reqSig: 0.8, resp: 190, respSig: 0.9, think: 5, gap: 700, gapSig: 1.4, pIdle: 0.60, closeMs: 2000, pRST: 0.06},
}

// preMode is mixed into browser traffic: Chromium and Firefox open spare
// connections that never carry a request.
var preMode = mode{kind: mPre, pIdle: 0.8, closeMs: 9000, pRST: 0.02}

const preconnectShare = 0.08

var abortMode = mode{kind: mAbort, pIdle: 0.1, closeMs: 5, pRST: 0.5}

const abortShare = 0.04

type mode struct {
	kind          modeKind
	exch          float64 // mean number of exchanges after the first
	req, reqSig   float64 // request size: median bytes, log-sigma
	resp, respSig float64 // response size
	think         float64 // server think time, median ms
	gap, gapSig   float64 // pause between exchanges, median ms
	pIdle         float64 // probability the flow ends by idle timeout
	closeMs       float64 // median pause before a FIN close
	pRST          float64
	sigReq        int32 // the app's typical request size (0: none)
	sigResp       int32 // the app's typical first response size (0: none)
	sigReq2       int32 // typical sizes of the second exchange
	sigResp2      int32
	pSig          float64 // probability the first exchange uses them
}

// population is a client software stack: what its ClientHello looks like
// (JA3, size) and how its TCP behaves.
type population struct {
	name    string
	os      []weighted[osKind]
	ja3     []weighted[string]
	chPad   int32 // padded ClientHello size; 0: base + len(SNI)
	chBase  int32
	tls13   float64
	fin     int32 // TLS 1.3 client CCS+Finished
	cke     int32 // TLS 1.2 ClientKeyExchange+CCS+Finished
	h2      bool  // sends HTTP/2 preface/settings packets
	resume  float64
	ecn     float64
	ts      bool // TCP timestamps (payload per segment 1448 instead of 1460)
	browser bool
	preface int32 // HTTP/2 preface + SETTINGS record
}

type osKind uint8

const (
	osWindows osKind = iota
	osMac
	osLinux
	osAndroid
	osIOS
	numOS
)

type weighted[T any] struct {
	v   T
	cum float64 // cumulative weight, last = 1
}

func normalize[T any](vs []T, ws []float64) []weighted[T] {
	var sum float64
	for _, w := range ws {
		sum += w
	}
	out := make([]weighted[T], len(vs))
	var acc float64
	for i := range vs {
		acc += ws[i] / sum
		out[i] = weighted[T]{vs[i], acc}
	}
	out[len(out)-1].cum = 1
	return out
}

func pick[T any](ws []weighted[T], u float64) T {
	for i := range ws {
		if u < ws[i].cum {
			return ws[i].v
		}
	}
	return ws[len(ws)-1].v
}

// ja3Hash makes a stable JA3 MD5 for a named client build.
func ja3Hash(name string) string {
	s := md5.Sum([]byte("ja3:" + name))
	return hex.EncodeToString(s[:])
}

func newPop(name string, os map[osKind]float64, ja3 map[string]float64, p population) *population {
	p.name = name
	var oks []osKind
	var ows []float64
	for k := osKind(0); k < numOS; k++ {
		if w, ok := os[k]; ok {
			oks = append(oks, k)
			ows = append(ows, w)
		}
	}
	p.os = normalize(oks, ows)
	names := make([]string, 0, len(ja3))
	for n := range ja3 {
		names = append(names, n)
	}
	sort.Strings(names)
	hs := make([]string, len(names))
	ws := make([]float64, len(names))
	for i, n := range names {
		hs[i] = ja3Hash(n)
		ws[i] = ja3[n]
	}
	p.ja3 = normalize(hs, ws)
	p.preface = 90 + int32(hash64("preface:"+name)%30)
	return &p
}

// populations: JA3s are shared across apps (every web app sees Chrome's)
// and some across software (Edge and Opera are Chromium, Electron embeds an
// older Chrome, Thunderbird shares Firefox's NSS).
func buildPopulations() map[string]*population {
	win := map[osKind]float64{osWindows: 1}
	desk := map[osKind]float64{osWindows: 0.62, osMac: 0.13, osLinux: 0.25}
	ps := []*population{
		newPop("chrome", desk, map[string]float64{"chrome-101": 0.45, "chrome-104": 0.35, "chrome-98": 0.2},
			population{chPad: 517, tls13: 1, fin: 64, cke: 93, h2: true, resume: 0.3, ecn: 0.02, ts: true, browser: true}),
		newPop("chrome-android", map[osKind]float64{osAndroid: 1}, map[string]float64{"chrome-android-101": 0.6, "chrome-android-104": 0.4},
			population{chPad: 517, tls13: 1, fin: 64, cke: 93, h2: true, resume: 0.3, ecn: 0.02, ts: true, browser: true}),
		newPop("firefox", map[osKind]float64{osWindows: 0.55, osLinux: 0.35, osMac: 0.1}, map[string]float64{"firefox-99": 0.6, "firefox-102esr": 0.4},
			population{chPad: 517, tls13: 1, fin: 80, cke: 126, h2: true, resume: 0.35, ecn: 0.02, ts: true, browser: true}),
		newPop("edge", win, map[string]float64{"chrome-104": 0.5, "edge-103": 0.5},
			population{chPad: 517, tls13: 1, fin: 64, cke: 93, h2: true, resume: 0.3, ecn: 0.01, browser: true}),
		newPop("opera", win, map[string]float64{"chrome-101": 0.5, "chrome-104": 0.5},
			population{chPad: 517, tls13: 1, fin: 64, cke: 93, h2: true, resume: 0.3, ecn: 0.01, browser: true}),
		newPop("safari", map[osKind]float64{osMac: 0.3, osIOS: 0.7}, map[string]float64{"apple-15": 0.5, "apple-16": 0.5},
			population{chBase: 302, tls13: 1, fin: 80, cke: 126, h2: true, resume: 0.35, ecn: 0.5, ts: true, browser: true}),
		newPop("ios-app", map[osKind]float64{osIOS: 0.85, osMac: 0.15}, map[string]float64{"apple-15": 0.4, "apple-16": 0.3, "cfnetwork-1333": 0.3},
			population{chBase: 302, tls13: 1, fin: 80, cke: 126, h2: true, resume: 0.45, ecn: 0.5, ts: true}),
		newPop("android-app", map[osKind]float64{osAndroid: 1}, map[string]float64{"okhttp-4.9": 0.5, "okhttp-3.12": 0.3, "conscrypt-12": 0.2},
			population{chBase: 228, tls13: 0.8, fin: 64, cke: 126, h2: true, resume: 0.3, ecn: 0.03, ts: true}),
		newPop("gms", map[osKind]float64{osAndroid: 1}, map[string]float64{"gms-cronet-22": 0.6, "gms-cronet-21": 0.4},
			population{chPad: 557, tls13: 1, fin: 64, cke: 93, h2: true, resume: 0.5, ecn: 0.03, ts: true}),
		newPop("schannel", win, map[string]float64{"schannel-win10": 0.65, "schannel-win11": 0.35},
			population{chBase: 181, tls13: 0.3, fin: 80, cke: 126, resume: 0.3, ecn: 0.01}),
		newPop("electron", desk, map[string]float64{"chrome-98": 0.7, "electron-18": 0.3},
			population{chPad: 517, tls13: 1, fin: 64, cke: 93, h2: true, resume: 0.3, ecn: 0.02, ts: true}),
		newPop("thunderbird", map[osKind]float64{osWindows: 0.6, osLinux: 0.4}, map[string]float64{"firefox-102esr": 0.5, "thunderbird-91": 0.5},
			population{chPad: 517, tls13: 1, fin: 80, cke: 126, resume: 0.35, ts: true}),
		newPop("go", map[osKind]float64{osLinux: 0.9, osMac: 0.1}, map[string]float64{"go-1.17": 0.7, "go-1.18": 0.3},
			population{chBase: 232, tls13: 1, fin: 64, cke: 93, resume: 0.05, ts: true}),
		newPop("containerd", map[osKind]float64{osLinux: 1}, map[string]float64{"containerd-1.6": 1},
			population{chBase: 248, tls13: 1, fin: 64, cke: 93, resume: 0.05, ts: true}),
		newPop("node", map[osKind]float64{osLinux: 0.5, osWindows: 0.3, osMac: 0.2}, map[string]float64{"node-16": 0.6, "node-18": 0.4},
			population{chBase: 251, tls13: 1, fin: 64, cke: 93, resume: 0.1, ts: true}),
		newPop("java", map[osKind]float64{osLinux: 0.5, osWindows: 0.5}, map[string]float64{"java-11": 0.6, "java-8": 0.4},
			population{chBase: 163, tls13: 0.2, fin: 80, cke: 158, resume: 0.1, ts: true}),
	}
	out := map[string]*population{}
	for _, p := range ps {
		out[p.name] = p
	}
	return out
}

// agentPop is the dedicated client of one vendor (antivirus, game launcher,
// desktop app): its own JA3s and ClientHello shape, hash-derived.
func agentPop(vendor string) *population {
	h := hash64("agent:" + vendor)
	p := population{
		chBase: int32(150 + h%130),
		tls13:  []float64{0, 0.5, 1, 1}[(h>>8)%4],
		fin:    []int32{64, 80}[(h>>12)%2],
		cke:    []int32{93, 126, 158}[(h>>16)%3],
		resume: 0.15,
		ecn:    0.01,
		ts:     (h>>20)%4 == 0,
	}
	return newPop("agent:"+vendor, map[osKind]float64{osWindows: 0.88, osMac: 0.12},
		map[string]float64{vendor + "-agent-a": 0.7, vendor + "-agent-b": 0.3}, p)
}

// clientMix returns the population mix of a preset.
func clientMix(preset, vendor string, pops map[string]*population) []weighted[*population] {
	type pw struct {
		p string
		w float64
	}
	var mix []pw
	switch preset {
	case "web":
		mix = []pw{{"chrome", 0.36}, {"chrome-android", 0.14}, {"firefox", 0.12}, {"edge", 0.14}, {"safari", 0.16}, {"opera", 0.03}, {"android-app", 0.05}}
	case "win":
		mix = []pw{{"schannel", 0.75}, {"edge", 0.15}, {"chrome", 0.10}}
	case "apple":
		mix = []pw{{"ios-app", 0.55}, {"safari", 0.45}}
	case "gms":
		mix = []pw{{"gms", 0.8}, {"chrome-android", 0.2}}
	case "mobile":
		mix = []pw{{"android-app", 0.45}, {"ios-app", 0.40}, {"chrome", 0.08}, {"safari", 0.07}}
	case "firefox", "opera", "edge", "chrome", "go", "java":
		mix = []pw{{preset, 1}}
	case "thunder":
		mix = []pw{{"thunderbird", 1}}
	case "electron":
		mix = []pw{{"electron", 0.8}, {"chrome", 0.1}, {"safari", 0.1}}
	case "node":
		mix = []pw{{"node", 0.8}, {"chrome", 0.2}}
	case "agent":
		k := "agent:" + vendor
		if _, ok := pops[k]; !ok {
			pops[k] = agentPop(vendor)
		}
		mix = []pw{{k, 1}}
	default:
		panic("synth: unknown client preset " + preset)
	}
	ps := make([]*population, len(mix))
	ws := make([]float64, len(mix))
	for i, m := range mix {
		ps[i] = pops[m.p]
		ws[i] = m.w
	}
	return normalize(ps, ws)
}

// asnProps: round-trip time from the CESNET probe (ms), whether servers use
// TCP timestamps, IPv6, and typical loss.
type asnProps struct {
	rtt  float64
	ts   float64
	v6   bool
	loss float64
}

var asnTable = map[int64]asnProps{
	2852: {1.5, 0.9, true, 0.002}, 43037: {3, 0.9, true, 0.004}, 5610: {4, 0.8, false, 0.006},
	29208: {4, 0.8, false, 0.006}, 25234: {4, 0.8, false, 0.006}, 24971: {5, 0.8, false, 0.006},
	16019: {4, 0.8, false, 0.006}, 15169: {5, 1, true, 0.004}, 396982: {12, 1, true, 0.005},
	20940: {4, 0.9, true, 0.006}, 13335: {4, 0.9, true, 0.005}, 32934: {8, 1, true, 0.005},
	8075: {12, 0.2, true, 0.008}, 8068: {14, 0.2, true, 0.008}, 16509: {22, 0.9, true, 0.007},
	54113: {6, 0.9, true, 0.005}, 714: {10, 0.9, true, 0.006}, 6185: {12, 0.9, true, 0.006},
	15224: {28, 0.9, false, 0.01}, 60068: {5, 0.9, true, 0.006}, 50881: {12, 0.5, false, 0.008},
	39832: {30, 0.9, false, 0.01}, 62713: {25, 0.9, false, 0.01}, 26667: {25, 0.9, false, 0.01},
	29990: {20, 0.9, false, 0.01}, 30103: {25, 0.9, false, 0.012}, 13445: {30, 0.9, false, 0.012},
	14340: {30, 0.9, false, 0.01}, 6507: {25, 0.9, false, 0.012}, 32590: {20, 0.9, false, 0.01},
	13414: {25, 0.9, true, 0.01}, 2906: {3, 0.9, true, 0.004}, 46489: {20, 0.9, false, 0.01},
	396986: {18, 0.9, true, 0.01}, 36646: {30, 0.9, true, 0.012}, 36459: {20, 0.9, true, 0.008},
	19679: {25, 0.9, true, 0.01}, 198605: {8, 0.9, false, 0.008}, 200107: {30, 0.5, false, 0.015},
	43317: {25, 0.9, false, 0.01}, 208187: {20, 0.5, false, 0.01}, 136907: {30, 0.9, false, 0.02},
	59019: {35, 0.9, false, 0.02}, 8560: {20, 0.9, false, 0.01},
}

// providerTable: provider | ASN:weight ... | certificate flight bytes |
// share of TLS 1.3 servers | server pool size. Unlisted providers get a
// small hash-derived hosting profile.
const providerTable = `
adobe|15224:6 20940:4|5300|0.6|12
alza|29208:6 60068:4|4100|0.8|6
amazon|16509:10|5000|0.5|24
apple|714:6 6185:2 20940:2|4600|0.9|32
cesnet|2852:10|3600|0.7|8
ctu|2852:10|3650|0.6|6
eset|50881:10|3800|0.3|12
facebook|32934:10|2600|1|24
google|15169:9 396982:1|3300|0.95|64
mcafee|16509:5 20940:5|4800|0.3|8
microsoft|8075:7 20940:2 8068:1|6900|0.4|64
mozilla|16509:6 396982:4|4300|0.95|12
opera|39832:10|4200|0.8|6
seznam|43037:10|3900|0.85|16
sukl|24971:10|4000|0.3|3
appnexus|29990:10|4400|0.9|8
pubmatic|62713:10|4600|0.9|8
rubicon|26667:10|4500|0.9|8
r2b2|25234:10|3900|0.8|3
loggly|16509:10|4700|0.5|3
huawei|136907:10|5100|0.6|6
xiaomi|59019:10|4900|0.6|4
nvidia|20940:6 16509:4|4500|0.7|6
avast|198605:10|3700|0.7|12
kaspersky|200107:10|4100|0.4|8
malwarebytes|16509:10|4600|0.8|3
bitdefender|16509:5 8560:5|4300|0.6|4
docker|16509:6 13335:4|4300|1|8
dropbox|19679:10|4400|0.9|8
github|36459:7 54113:3|3500|1|8
gitlab|396982:10|4100|1|3
steam|32590:6 20940:4|4200|0.5|8
riot|6507:10|4400|0.8|4
tiktok|396986:6 20940:4|3900|1|16
snapchat|15169:10|3400|1|6
twitter|13414:6 54113:4|3800|1|8
netflix|2906:10|3600|1|12
twitch|46489:7 20940:3|3900|0.9|8
spotify|15169:6 20940:2 54113:2|3700|1|12
soundcloud|16509:5 54113:5|4300|0.9|4
cloudflare|13335:7 15169:3|2900|1|4
zoom|30103:10|4700|0.9|12
webex|13445:10|5200|0.6|6
salesforce|14340:10|5100|0.8|4
booking|43317:6 20940:4|4400|0.9|4
yahoo|36646:10|4600|0.9|4
teamviewer|208187:10|4300|0.5|8
fontawesome|13335:10|3200|1|3
vimeo|54113:6 20940:4|3900|1|4
unpkg|13335:10|3100|1|2
npm|13335:10|3300|1|3
moodle|2852:10|3700|0.6|6
uzis|5610:10|4100|0.4|3
o2|5610:10|4000|0.6|4
`

// provider: server software and certificates fix the handshake sizes, so
// they are the same in every flow to a provider (the real data is full of
// repeated packet sequences).
type provider struct {
	name     string
	cert     int32
	tls13    float64
	servers  []*server
	extra13  int32 // TLS 1.3 first flight beyond the certificate chain
	extra12  int32 // TLS 1.2 ServerHello … ServerHelloDone beyond the chain
	resume13 int32 // TLS 1.3 resumed first flight
	resume12 int32
	ticket12 int32 // TLS 1.2 server CCS+Finished (+ NewSessionTicket)
	tickets  int   // TLS 1.3 NewSessionTicket packets after the handshake
	ticket   int32
}

type server struct {
	asn  int64
	ip4  string
	ip6  string // "" when the server has no IPv6
	rtt  float64
	ts   bool
	ecn  bool
	loss float64
}

func parseProviders() map[string]*provider {
	out := map[string]*provider{}
	for _, line := range strings.Split(strings.TrimSpace(providerTable), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 5 {
			panic("synth: provider line: " + line)
		}
		var asns []int64
		var ws []float64
		for _, aw := range strings.Fields(f[1]) {
			a, w, _ := strings.Cut(aw, ":")
			asns = append(asns, mustInt(a))
			ws = append(ws, float64(mustInt(w)))
		}
		out[f[0]] = makeProvider(f[0], normalize(asns, ws), int32(mustInt(f[2])), mustFloat(f[3]), int(mustInt(f[4])))
	}
	return out
}

// hostingASNs are the Czech hosting networks of small providers.
var hostingASNs = []int64{5610, 29208, 25234, 24971, 16019, 2852, 16509, 13335, 20940}

func defaultProvider(name string) *provider {
	h := hash64("provider:" + name)
	asn := hostingASNs[h%uint64(len(hostingASNs))]
	return makeProvider(name, normalize([]int64{asn}, []float64{1}),
		int32(3300+(h>>8)%2200), 0.3+0.7*unit(sub(h, 20)), 2+int((h>>30)%3))
}

func makeProvider(name string, asns []weighted[int64], cert int32, tls13 float64, n int) *provider {
	ph := hash64("provider-tls:" + name)
	p := &provider{name: name, cert: cert, tls13: tls13,
		extra13: 250 + int32(ph%40), extra12: 330 + int32(sub(ph, 1)%40),
		resume13: 160 + int32(sub(ph, 2)%80), resume12: 140 + int32(sub(ph, 3)%20),
		ticket12: 51, tickets: int(sub(ph, 4) % 3), ticket: 200 + int32(sub(ph, 5)%90)}
	if unit(sub(ph, 6)) < 0.5 {
		p.ticket12 = 226 + int32(sub(ph, 7)%30)
	}
	for i := range n {
		h := hash64(fmt.Sprintf("server:%s:%d", name, i))
		asn := pick(asns, unit(h))
		props, ok := asnTable[asn]
		if !ok {
			props = asnProps{rtt: 20, ts: 0.8, loss: 0.01}
		}
		s := &server{asn: asn, rtt: props.rtt * math.Exp(0.3*gauss(sub(h, 7))),
			ts: unit(sub(h, 13)) < props.ts, ecn: unit(sub(h, 19)) < 0.35, loss: props.loss * math.Exp(0.5*gauss(sub(h, 25)))}
		// Servers of one ASN sit in a few /24s of that ASN's /16, so
		// providers on a shared CDN share address blocks.
		ah := hash64(fmt.Sprintf("asn:%d", asn))
		a := 23 + ah%190
		if a == 127 || a == 100 || a == 172 || a == 192 || a == 198 || a == 203 {
			a++
		}
		s.ip4 = fmt.Sprintf("%d.%d.%d.%d", a, (ah>>8)%256, (h>>33)%8*16+(ah>>16)%16, 1+(h>>40)%254)
		if props.v6 {
			s.ip6 = fmt.Sprintf("2a0%x:%x:%x::%x", 1+(ah>>24)%9, (ah>>28)%0xffff, (h>>33)%8, 1+(h>>44)%0xfff)
		}
		p.servers = append(p.servers, s)
	}
	return p
}

// app is one service with everything needed to generate its flows.
type app struct {
	name     string
	category string
	index    int // position in cesnet.Apps()
	active   bool
	share    float64 // base share of a day, percent
	fam      family
	prov     *provider
	hosts    []string
	hostCum  []float64
	hostCert []int32 // server certificate flight bytes per host
	servers  []*server
	modes    []weighted[mode]
	pops     []weighted[*population]
	changed  *variant
}

// variant is an app's behaviour after a scripted change.
type variant struct {
	modes []weighted[mode]
	pops  []weighted[*population]
}

type world struct {
	apps     []*app
	byName   map[string]*app
	pops     map[string]*population
	provs    map[string]*provider
	clients  *clientPool
	rules    []Rule
	exact    map[string]string
	patterns map[string][]Rule // by the last two labels of the suffix
}

var (
	worldOnce sync.Once
	theWorld  *world
)

func getWorld() *world {
	worldOnce.Do(func() { theWorld = buildWorld() })
	return theWorld
}

func buildWorld() *world {
	w := &world{byName: map[string]*app{}, pops: buildPopulations(), provs: parseProviders()}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(appTable), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 7 {
			panic("synth: app line: " + line)
		}
		rows[f[0]] = f
	}
	for i, sa := range cesnet.Apps() {
		f, ok := rows[sa.Name]
		if !ok {
			panic("synth: app table misses " + sa.Name)
		}
		a := &app{name: sa.Name, category: sa.Category, index: i, share: mustFloat(f[1])}
		if v, ok := anchors[a.name]; ok {
			a.share = v
		}
		if d, ok := declineAnchor[a.name]; ok {
			a.share = d
		}
		a.active = a.share > 0
		a.fam = map[string]family{"w": famWork, "l": famLeisure, "b": famBackground}[f[3]]
		p, ok := w.provs[f[2]]
		if !ok {
			p = defaultProvider(f[2])
			w.provs[f[2]] = p
		}
		a.prov = p
		a.pops = clientMix(f[4], f[2], w.pops)
		a.modes = parseModes(a.name, f[5])
		a.hosts = expandHosts(f[6])
		hw := make([]float64, len(a.hosts))
		a.hostCert = make([]int32, len(a.hosts))
		for j, h := range a.hosts {
			hw[j] = 1 / float64(j+1)
			a.hostCert[j] = certBytes(p, h)
		}
		a.hostCum = make([]float64, len(hw))
		for j, x := range normalize(hw, hw) {
			a.hostCum[j] = x.cum
		}
		a.servers = pickServers(a.name, p)
		w.apps = append(w.apps, a)
		w.byName[a.name] = a
	}
	scaleShares(w.apps)
	docker := w.byName["docker-registry"]
	docker.changed = dockerVariant(docker, w.pops)
	w.clients = newClientPool()
	w.buildRules()
	return w
}

// declineAnchor is the share (percent) used for the category scaling of the
// apps whose share declines during the year: their September value.
var declineAnchor = map[string]float64{"facebook-graph": 0.78, "spotify": 0.55}

// scaleShares scales the non-anchored apps of each category so the
// category reaches its target share (DATASET.md §4), within 0.5–2×.
func scaleShares(apps []*app) {
	fixed := map[string]float64{}
	free := map[string]float64{}
	for _, a := range apps {
		if !a.active {
			continue
		}
		_, an := anchors[a.name]
		_, dn := declineAnchor[a.name]
		if an || dn {
			fixed[a.category] += a.share
		} else {
			free[a.category] += a.share
		}
	}
	for _, a := range apps {
		_, an := anchors[a.name]
		_, dn := declineAnchor[a.name]
		if !a.active || an || dn || free[a.category] == 0 {
			continue
		}
		s := (categoryTarget[a.category] - fixed[a.category]) / free[a.category]
		a.share *= math.Max(0.5, math.Min(2, s))
	}
}

// parseModes reads "api:6 web:4" and jitters each mode for the app: apps
// that share a mode overlap, but each has its own medians and its own
// typical request/response sizes (the "signature" a no-SNI model can learn).
func parseModes(appName, s string) []weighted[mode] {
	var ms []mode
	var ws []float64
	for _, mw := range strings.Fields(s) {
		name, wt, _ := strings.Cut(mw, ":")
		m, ok := modeBase[name]
		if !ok {
			panic("synth: unknown mode " + name)
		}
		h := hash64("mode:" + appName + ":" + name)
		m.req *= math.Exp(0.45 * gauss(h))
		m.resp *= math.Exp(0.55 * gauss(sub(h, 6)))
		m.reqSig *= 0.85
		m.respSig *= 0.85
		m.think *= math.Exp(0.5 * gauss(sub(h, 12)))
		m.gap *= math.Exp(0.4 * gauss(sub(h, 18)))
		m.exch *= math.Exp(0.3 * gauss(sub(h, 24)))
		m.pIdle = math.Max(0.05, math.Min(0.95, m.pIdle+0.1*gauss(sub(h, 30))))
		m.sigReq = int32(math.Max(40, math.Round(m.req*math.Exp(0.25*gauss(sub(h, 36))))))
		if m.resp < 4000 {
			m.sigResp = int32(math.Max(30, math.Round(m.resp*math.Exp(0.25*gauss(sub(h, 42))))))
		}
		m.sigReq2 = int32(math.Max(40, math.Round(m.req*math.Exp(0.3*gauss(sub(h, 54))))))
		m.sigResp2 = int32(math.Max(30, math.Round(m.resp*math.Exp(0.3*gauss(sub(h, 60))))))
		m.pSig = 0.4 + 0.45*unit(sub(h, 48))
		ms = append(ms, m)
		ws = append(ws, float64(mustInt(wt)))
	}
	return normalize(ms, ws)
}

// dockerVariant: at the scripted week docker-registry's server replies
// shrink from 628 to 360 bytes and a new client (containerd) takes most of
// its JA3 mix (DATASET.md §5.2, DA's DOCKER_DRIFT_FINDINGS).
func dockerVariant(a *app, pops map[string]*population) *variant {
	before := make([]weighted[mode], len(a.modes))
	after := make([]weighted[mode], len(a.modes))
	for i, m := range a.modes {
		b := m
		b.v.sigResp, b.v.pSig = dockerSizeBefore, 0.85
		before[i] = b
		c := b
		c.v.sigResp = dockerSizeAfter
		after[i] = c
	}
	a.modes = before
	return &variant{modes: after,
		pops: normalize([]*population{pops["containerd"], pops["go"]}, []float64{0.6, 0.4})}
}

const (
	dockerSizeBefore = 628
	dockerSizeAfter  = 360
)

// certBytes: hosts under one registered domain share a certificate, so
// services of one provider on one domain have the same server first flight.
func certBytes(p *provider, host string) int32 {
	h := hash64("cert:" + registered(host))
	return p.cert + int32(h%301) - 150
}

// registered returns the last two labels of a host name.
func registered(host string) string {
	i := strings.LastIndexByte(host, '.')
	if i < 0 {
		return host
	}
	if j := strings.LastIndexByte(host[:i], '.'); j >= 0 {
		return host[j+1:]
	}
	return host
}

func pickServers(appName string, p *provider) []*server {
	n := len(p.servers)
	k := max(1, min(n, 2+n/3))
	h := hash64("servers:" + appName)
	start := int(h % uint64(n))
	out := make([]*server, k)
	for i := range k {
		out[i] = p.servers[(start+i*3)%n]
	}
	return out
}

// expandHosts turns "a{3}.x.com b.com" into a1.x.com … a3.x.com, b.com.
func expandHosts(s string) []string {
	var out []string
	for _, h := range strings.Fields(s) {
		pre, rest, ok := strings.Cut(h, "{")
		if !ok {
			out = append(out, h)
			continue
		}
		num, suf, _ := strings.Cut(rest, "}")
		for i := 1; i <= int(mustInt(num)); i++ {
			out = append(out, pre+strconv.Itoa(i)+suf)
		}
	}
	return out
}

// clientPool is the population of client addresses behind the probe
// (anonymised the way the dataset keeps them: as IP address text).
type clientPool struct {
	byOS [numOS][]client
}

type client struct {
	ip4, ip6 string
}

const numClients = 40000

var clientNets = []string{"147.32", "147.251", "147.229", "195.113", "78.128", "193.84", "147.228", "195.178"}

func newClientPool() *clientPool {
	cp := &clientPool{}
	osw := normalize([]osKind{osWindows, osMac, osLinux, osAndroid, osIOS}, []float64{0.42, 0.1, 0.13, 0.21, 0.14})
	for i := range numClients {
		h := hash64(fmt.Sprintf("client:%d", i))
		c := client{ip4: fmt.Sprintf("%s.%d.%d", clientNets[h%uint64(len(clientNets))], (h>>8)%256, 1+(h>>16)%254)}
		if unit(sub(h, 24)) < 0.18 {
			c.ip6 = fmt.Sprintf("2001:718:%x:%x::%x", (h>>34)%0x40, (h>>40)%0x100, 1+(h>>48)%0xfff)
		}
		o := pick(osw, unit(sub(h, 52)))
		cp.byOS[o] = append(cp.byOS[o], c)
	}
	return cp
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	// splitmix64 finaliser: FNV's high bits are weak for short strings.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// sub derives the i-th independent hash from h.
func sub(h uint64, i int) uint64 {
	x := h + uint64(i+1)*0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// gauss maps a hash to an approximately standard normal value.
func gauss(h uint64) float64 {
	var s float64
	for i := range 6 {
		s += unit(sub(h, 100+i))
	}
	return (s - 3) / math.Sqrt(0.5)
}

func mustInt(s string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		panic("synth: table: " + err.Error())
	}
	return v
}

func mustFloat(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		panic("synth: table: " + err.Error())
	}
	return v
}
