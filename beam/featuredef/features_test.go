package featuredef

import (
	"hash/fnv"
	"math"
	"os"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
)

func TestReduceSNI(t *testing.T) {
	tests := map[string]string{
		"api.spotify.com":                 "api|spotify.com",
		"a.b.cdn.example.co.uk":           "a|example.co.uk",
		"spotify.com":                     "|spotify.com",
		"WWW.Google.COM.":                 "www|google.com",
		"":                                "",
		"localhost":                       "|localhost",
		"teams.events.data.microsoft.com": "teams|microsoft.com",
	}
	for in, want := range tests {
		if got := ReduceSNI(in); got != want {
			t.Errorf("ReduceSNI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFeatures(t *testing.T) {
	f := shortFlow(t)
	var ff tablerow.FlowFeatures
	Features(&f, FeatureConfig{}, &ff)
	if len(ff.Stats) != len(FeatureStats) || len(ff.PHist) != 4*cesnet.PHistBins || len(ff.PPI) != cesnet.PPIMaxLen*PPIChannels {
		t.Fatalf("lengths %d/%d/%d", len(ff.Stats), len(ff.PHist), len(ff.PPI))
	}
	if got, want := ff.Stats[0], float32(math.Log1p(761)); got != want {
		t.Errorf("log1p_bytes = %v, want %v", got, want)
	}
	if ff.Stats[5] != 6 || ff.Stats[6] != 2 {
		t.Errorf("ppi_len/roundtrips = %v/%v", ff.Stats[5], ff.Stats[6])
	}
	// Packet 2 (index 1): ipt 12, dir -1, size 1460, push 0; packet 7 is padding.
	if diff := cmp.Diff([]float32{12, -1, 1460, 0}, ff.PPI[4:8]); diff != "" {
		t.Errorf("packet 2: %s", diff)
	}
	if diff := cmp.Diff([]float32{0, 0, 0, 0}, ff.PPI[24:28]); diff != "" {
		t.Errorf("padding: %s", diff)
	}
	var sum float32
	for _, v := range ff.PHist[:8] {
		sum += v
	}
	if math.Abs(float64(sum-1)) > 1e-6 {
		t.Errorf("src sizes histogram sums to %v", sum)
	}
	if ff.SNIDomain != "www|google.com" || ff.SNIBucket < 1 || ff.SNIBucket > 4096 || ff.JA3Bucket < 1 {
		t.Errorf("sni %q bucket %d ja3 %d", ff.SNIDomain, ff.SNIBucket, ff.JA3Bucket)
	}
	// Deterministic, and reusing the output's slices gives the same values.
	var again tablerow.FlowFeatures
	Features(&f, FeatureConfig{}, &again)
	Features(&f, FeatureConfig{}, &ff)
	if diff := cmp.Diff(again, ff); diff != "" {
		t.Errorf("not deterministic: %s", diff)
	}
	f.TLSJA3 = ""
	Features(&f, FeatureConfig{}, &ff)
	if ff.JA3Bucket != 0 {
		t.Errorf("empty JA3 bucket = %d, want 0", ff.JA3Bucket)
	}
}

// shortFlow is the second flow of the decoder's fixture day; beam/cesnet's
// tests pin every field of it.
func shortFlow(t *testing.T) cesnet.Flow {
	t.Helper()
	name := "../../testdata/cesnet/WEEK-2022-40/2022-10-04/flows-20221004.csv"
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := cesnet.NewDecoder(f, name)
	var fl cesnet.Flow
	for range 2 {
		if err := d.Read(&fl); err != nil {
			t.Fatal(err)
		}
	}
	return fl
}

// TestFeaturizerEqualsFeatures: the cached path computes exactly what
// Features does, including the FNV-1a buckets (checked against hash/fnv).
func TestFeaturizerEqualsFeatures(t *testing.T) {
	day, _ := time.Parse(time.DateOnly, "2022-03-07")
	flows := flowgen.Day(day, 500, 20, 1)
	flows[3].TLSSNI, flows[4].TLSJA3, flows[5].PPILen = "", "", 0
	flows[6].TLSSNI = "10.0.0.1"
	cfg := FeatureConfig{SNIBuckets: 97, JA3Buckets: 13}
	z := NewFeaturizer(cfg)
	fnvBucket := func(s string, n int) int32 {
		if s == "" {
			return 0
		}
		h := fnv.New32a()
		h.Write([]byte(s))
		return int32(h.Sum32()%uint32(n)) + 1
	}
	for i := range flows {
		var want, got tablerow.FlowFeatures
		Features(&flows[i], cfg, &want)
		z.Features(&flows[i], &got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("flow %d: Featurizer differs from Features (-want +got):\n%s", i, diff)
		}
		if b := fnvBucket(want.SNIDomain, cfg.SNIBuckets); b != want.SNIBucket {
			t.Fatalf("flow %d: sni bucket %d, hash/fnv gives %d", i, want.SNIBucket, b)
		}
		if b := fnvBucket(flows[i].TLSJA3, cfg.JA3Buckets); b != want.JA3Bucket {
			t.Fatalf("flow %d: ja3 bucket %d, hash/fnv gives %d", i, want.JA3Bucket, b)
		}
	}
}
