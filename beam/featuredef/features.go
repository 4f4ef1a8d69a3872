// Package featuredef is the model's feature definition: how one flow becomes
// a flow_features row (statistics, packet histograms, the packet sequence,
// the reduced SNI and hashed JA3), shared by the Beam features job and the
// tasks that score flows.
package featuredef

import (
	"math"
	"strings"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"

	"golang.org/x/net/publicsuffix"
)

// FeatureConfig sets the hashing trick of the flow features.
type FeatureConfig struct {
	SNIBuckets int // buckets of the reduced SNI (default 4096)
	JA3Buckets int // buckets of the JA3 fingerprint (default 1024)
}

// WithDefaults fills zero fields.
func (c FeatureConfig) WithDefaults() FeatureConfig {
	if c.SNIBuckets <= 0 {
		c.SNIBuckets = 4096
	}
	if c.JA3Buckets <= 0 {
		c.JA3Buckets = 1024
	}
	return c
}

// Features computes the model inputs of one flow. It is deterministic and
// the single definition used by the Beam features job and by the models:
//
//   - Stats, in the order of FeatureStats: log1p of BYTES, BYTES_REV,
//     PACKETS, PACKETS_REV and DURATION (s); PPI_LEN; PPI_ROUNDTRIPS;
//     log1p(PPI_DURATION in s); the 16 TCP flags and the 4 end reasons as 0/1.
//   - PHist: each PHIST_* histogram divided by its sum (all zero if empty),
//     in the order src sizes, dst sizes, src ipt, dst ipt.
//   - PPI: 30 packets × 4 channels (ipt ms, dir ±1, size B, push 0/1), raw
//     values, zero-padded (dir 0 marks padding). Scaling is the model's job.
//   - SNIDomain: ReduceSNI(TLS_SNI); SNIBucket and JA3Bucket: FNV-1a 32 of
//     the reduced SNI and of TLS_JA3 modulo the bucket counts, plus one, so
//     that bucket 0 means "no SNI/JA3".
func Features(f *cesnet.Flow, cfg FeatureConfig, out *tablerow.FlowFeatures) {
	features(f, cfg.WithDefaults(), ReduceSNI(f.TLSSNI), out)
}

// Featurizer computes Features for many flows: it remembers the reduced
// SNIs it has seen (a day holds a few thousand distinct names among
// millions of flows, and reducing one costs a public-suffix lookup). Not
// safe for concurrent use.
type Featurizer struct {
	cfg FeatureConfig
	sni map[string]string
}

// maxSNICache bounds a Featurizer's memory: past it the cache starts over.
const maxSNICache = 1 << 16

// NewFeaturizer returns a Featurizer for cfg.
func NewFeaturizer(cfg FeatureConfig) *Featurizer {
	return &Featurizer{cfg: cfg.WithDefaults(), sni: map[string]string{}}
}

// Features computes the features of f into out, exactly as Features does.
func (z *Featurizer) Features(f *cesnet.Flow, out *tablerow.FlowFeatures) {
	dom, ok := z.sni[f.TLSSNI]
	if !ok {
		dom = ReduceSNI(f.TLSSNI)
		if len(z.sni) >= maxSNICache {
			clear(z.sni)
		}
		z.sni[f.TLSSNI] = dom
	}
	features(f, z.cfg, dom, out)
}

func l1p(v float64) float32 { return float32(math.Log1p(math.Max(v, 0))) }

func b2f(v bool) float32 {
	if v {
		return 1
	}
	return 0
}

// features is Features with the defaults applied and the SNI reduced.
func features(f *cesnet.Flow, cfg FeatureConfig, dom string, out *tablerow.FlowFeatures) {
	stats := append(out.Stats[:0],
		l1p(float64(f.Bytes)), l1p(float64(f.BytesRev)), l1p(float64(f.Packets)), l1p(float64(f.PacketsRev)),
		l1p(f.Duration), float32(f.PPILen), float32(f.PPIRoundtrips), l1p(f.PPIDuration),
		b2f(f.FlagCWR), b2f(f.FlagCWRRev), b2f(f.FlagECE), b2f(f.FlagECERev), b2f(f.FlagURG), b2f(f.FlagURGRev),
		b2f(f.FlagACK), b2f(f.FlagACKRev), b2f(f.FlagPSH), b2f(f.FlagPSHRev), b2f(f.FlagRST), b2f(f.FlagRSTRev),
		b2f(f.FlagSYN), b2f(f.FlagSYNRev), b2f(f.FlagFIN), b2f(f.FlagFINRev),
		b2f(f.EndReasonIdle), b2f(f.EndReasonActive), b2f(f.EndReasonEnd), b2f(f.EndReasonOther))
	phist := out.PHist[:0]
	for _, h := range [4][]int32{f.PHistSrcSizes, f.PHistDstSizes, f.PHistSrcIPT, f.PHistDstIPT} {
		phist = appendHist(phist, h)
	}
	ppi := out.PPI[:0]
	n := min(int(f.PPILen), len(f.PPIDir), cesnet.PPIMaxLen)
	for i := range n {
		push := float32(0)
		if i < len(f.PPIPush) {
			push = float32(f.PPIPush[i])
		}
		ppi = append(ppi, float32(f.PPIIPT[i]), float32(f.PPIDir[i]), float32(f.PPISize[i]), push)
	}
	for range cesnet.PPIMaxLen - max(n, 0) {
		ppi = append(ppi, 0, 0, 0, 0)
	}
	*out = tablerow.FlowFeatures{
		ID: f.ID, App: f.App, Category: f.Category, Day: f.Day, Week: f.Week,
		Hour:  int32(f.TimeFirst.UTC().Hour()),
		Stats: stats, PHist: phist, PPI: ppi, PPILen: f.PPILen,
		SNIDomain: dom, SNIBucket: bucket(dom, cfg.SNIBuckets), JA3Bucket: bucket(f.TLSJA3, cfg.JA3Buckets),
		DstASN: f.DstASN,
	}
}

// appendHist appends histogram h divided by its sum, in PHistBins bins
// (all zero when the sum is zero).
func appendHist(dst []float32, h []int32) []float32 {
	var sum float64
	for _, v := range h {
		sum += float64(v)
	}
	for i := range cesnet.PHistBins {
		v := float32(0)
		if i < len(h) && sum > 0 {
			v = float32(float64(h[i]) / sum)
		}
		dst = append(dst, v)
	}
	return dst
}

// bucket is FNV-1a 32 of s modulo n, plus one (0 for "").
func bucket(s string, n int) int32 {
	if s == "" {
		return 0
	}
	const offset32, prime32 = 2166136261, 16777619
	h := uint32(offset32)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= prime32
	}
	return int32(h%uint32(n)) + 1
}

// ReduceSNI reduces a server name to its registered domain (public suffix
// plus one label) and the first label before it, as "first|registered":
// "api.spotify.com" → "api|spotify.com", "a.b.cdn.example.co.uk" →
// "a|example.co.uk", "spotify.com" → "|spotify.com". Names that are not
// domains (IP literals, a single label) are kept whole after the bar.
func ReduceSNI(sni string) string {
	sni = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(sni)), ".")
	if sni == "" {
		return ""
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(sni)
	if err != nil || reg == sni {
		return "|" + sni
	}
	rest := strings.TrimSuffix(sni, "."+reg)
	first, _, _ := strings.Cut(rest, ".")
	return first + "|" + reg
}

// FeatureStats names the entries of FlowFeatures.Stats, in order.
var FeatureStats = []string{
	"log1p_bytes", "log1p_bytes_rev", "log1p_packets", "log1p_packets_rev", "log1p_duration",
	"ppi_len", "ppi_roundtrips", "log1p_ppi_duration",
	"flag_cwr", "flag_cwr_rev", "flag_ece", "flag_ece_rev", "flag_urg", "flag_urg_rev",
	"flag_ack", "flag_ack_rev", "flag_psh", "flag_psh_rev", "flag_rst", "flag_rst_rev",
	"flag_syn", "flag_syn_rev", "flag_fin", "flag_fin_rev",
	"endreason_idle", "endreason_active", "endreason_end", "endreason_other",
}

// PPIChannels is the number of per-packet channels in FlowFeatures.PPI:
// ipt (ms), direction (+1/-1, 0 = padding), size (bytes), push flag.
const PPIChannels = 4
