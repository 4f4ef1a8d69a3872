package drift

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// FuzzDecodeReference feeds reference.json variants (read from MLflow
// artifacts: outside input) to the decoder: it must refuse or return a
// reference whose histograms match its binning, never panic.
func FuzzDecodeReference(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := NewProfiler(ProfileConfig{SampleRows: 300, AppSampleRows: 20})
	for i := range 300 {
		r := testRow(rng, 0)
		r.App, r.Day, r.SNIDomain = []string{"a", "b"}[i%2], "2022-01-03", "x|example.com"
		p.Add(&r)
	}
	ref, err := p.Reference(ModelProfile{Classes: []string{"a", "b"}})
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(ref)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"telcotraffic.reference/1","binning":{"edges":[[1]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReference(b)
		if err != nil {
			return
		}
		day := NewDay(r, "2022-01-04")
		row := testRow(rand.New(rand.NewPCG(2, 2)), 0)
		day.AddFlow(&row)
		Check(r, day, NewState("x"), DefaultThresholds())
	})
}
