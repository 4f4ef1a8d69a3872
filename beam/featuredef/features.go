// Package featuredef is the model's feature definition: how one flow becomes
// a flow_features row (statistics, packet histograms, the packet sequence,
// the reduced SNI and hashed JA3), shared by the Beam features job and the
// tasks that score flows.
package featuredef

import (
	"hash/fnv"
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
	cfg = cfg.WithDefaults()
	stats := out.Stats[:0]
	l1p := func(v float64) float32 { return float32(math.Log1p(math.Max(v, 0))) }
	b := func(v bool) float32 {
		if v {
			return 1
		}
		return 0
	}
	stats = append(stats,
		l1p(float64(f.Bytes)), l1p(float64(f.BytesRev)), l1p(float64(f.Packets)), l1p(float64(f.PacketsRev)),
		l1p(f.Duration), float32(f.PPILen), float32(f.PPIRoundtrips), l1p(f.PPIDuration),
		b(f.FlagCWR), b(f.FlagCWRRev), b(f.FlagECE), b(f.FlagECERev), b(f.FlagURG), b(f.FlagURGRev),
		b(f.FlagACK), b(f.FlagACKRev), b(f.FlagPSH), b(f.FlagPSHRev), b(f.FlagRST), b(f.FlagRSTRev),
		b(f.FlagSYN), b(f.FlagSYNRev), b(f.FlagFIN), b(f.FlagFINRev),
		b(f.EndReasonIdle), b(f.EndReasonActive), b(f.EndReasonEnd), b(f.EndReasonOther))
	phist := out.PHist[:0]
	for _, h := range [][]int32{f.PHistSrcSizes, f.PHistDstSizes, f.PHistSrcIPT, f.PHistDstIPT} {
		var sum float64
		for _, v := range h {
			sum += float64(v)
		}
		for i := range cesnet.PHistBins {
			v := float32(0)
			if i < len(h) && sum > 0 {
				v = float32(float64(h[i]) / sum)
			}
			phist = append(phist, v)
		}
	}
	ppi := out.PPI[:0]
	for i := range cesnet.PPIMaxLen {
		if i < int(f.PPILen) && i < len(f.PPIDir) {
			push := float32(0)
			if i < len(f.PPIPush) {
				push = float32(f.PPIPush[i])
			}
			ppi = append(ppi, float32(f.PPIIPT[i]), float32(f.PPIDir[i]), float32(f.PPISize[i]), push)
		} else {
			ppi = append(ppi, 0, 0, 0, 0)
		}
	}
	dom := ReduceSNI(f.TLSSNI)
	*out = tablerow.FlowFeatures{
		ID: f.ID, App: f.App, Category: f.Category, Day: f.Day, Week: f.Week,
		Hour:  int32(f.TimeFirst.UTC().Hour()),
		Stats: stats, PHist: phist, PPI: ppi, PPILen: f.PPILen,
		SNIDomain: dom, SNIBucket: bucket(dom, cfg.SNIBuckets), JA3Bucket: bucket(f.TLSJA3, cfg.JA3Buckets),
		DstASN: f.DstASN,
	}
}

func bucket(s string, n int) int32 {
	if s == "" {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	return int32(h.Sum32()%uint32(n)) + 1
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
