// Package classifytest builds small synthetic flow_features rows and lakes
// for the classifier's tests. The flows themselves come from the one
// fake-flow kit, beam/flowgen (AppFlow: per-app patterns a classifier can
// learn); the names below re-export it for the classifier's tests.
package classifytest

import (
	"math/rand/v2"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// Options shape the generated traffic (flowgen.Options).
type Options = flowgen.Options

// Day is one day of a raw dataset written by WriteRaw (flowgen.AppDay).
type Day = flowgen.AppDay

// Re-exports of beam/flowgen.
var (
	Apps     = flowgen.Apps         // k real app names from distinct provider groups
	WriteRaw = flowgen.WriteAppDays // a raw dataset of AppFlow flows, with stats files
	Weekly   = flowgen.Weekly       // one Monday per week from 2022-01-03
)

// Rows returns n flow_features rows of the apps (drawn uniformly, or with
// weights when given) on day.
func Rows(seed uint64, apps []string, weights []float64, n int, day time.Time, o Options) []tablerow.FlowFeatures {
	rng := rand.New(rand.NewPCG(seed, 0xfeed))
	out := make([]tablerow.FlowFeatures, n)
	var f cesnet.Flow
	for i := range out {
		flowgen.AppFlow(rng, apps, pick(rng, len(apps), weights), day, int64(i), o, &f)
		featuredef.Features(&f, featuredef.FeatureConfig{}, &out[i])
	}
	return out
}

func pick(rng *rand.Rand, k int, w []float64) int {
	if w == nil {
		return rng.IntN(k)
	}
	var sum float64
	for _, v := range w {
		sum += v
	}
	x := rng.Float64() * sum
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return k - 1
}
