package classify

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Reject is the open-set rule: a flow whose highest ensemble probability is
// under Threshold is reported as an unknown service.
type Reject struct {
	Threshold float32 `json:"threshold"`
	// TargetFPR is the share of known validation flows the threshold
	// rejects (at most).
	TargetFPR float64 `json:"target_fpr"`
	ValFPR    float64 `json:"val_fpr"`
}

// FitReject sets the threshold on the ensemble probabilities of known
// validation flows so that at most fpr of them are rejected.
func FitReject(probs []float32, k int, fpr float64) Reject {
	conf := maxProb(probs, k)
	_, at, t := TPRAtFPR(conf, nil, fpr)
	return Reject{Threshold: t, TargetFPR: fpr, ValFPR: at}
}

// Unknown reports whether a flow with these probabilities is rejected.
func (r Reject) Unknown(probs []float32) bool { return slices.Max(probs) < r.Threshold }

// providerOf groups apps by provider: the name up to the first '-'
// ("google-ads" → "google"); a name without '-' is its own group.
func providerOf(app string) string {
	p, _, _ := strings.Cut(app, "-")
	return p
}

// chooseHoldout picks whole provider groups of apps to leave out of
// training until about frac of the eligible apps are out (at least one app
// when frac > 0). The choice is a seeded shuffle of the groups; a group is
// skipped when it would overshoot the target.
func chooseHoldout(eligible []string, frac float64, seed uint64) []string {
	if frac <= 0 || len(eligible) == 0 {
		return nil
	}
	target := max(1, int(frac*float64(len(eligible))+0.5))
	groups := map[string][]string{}
	var names []string
	for _, a := range eligible {
		g := providerOf(a)
		if groups[g] == nil {
			names = append(names, g)
		}
		groups[g] = append(groups[g], a)
	}
	slices.Sort(names)
	rng := rand.New(rand.NewPCG(seed, 0x40))
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	var out []string
	for _, g := range names {
		if len(out) >= target {
			break
		}
		if len(out)+len(groups[g]) > target {
			continue
		}
		out = append(out, groups[g]...)
	}
	if len(out) == 0 { // every group is larger than the target: take a smallest
		small := names[0]
		for _, g := range names {
			if len(groups[g]) < len(groups[small]) {
				small = g
			}
		}
		out = append(out, groups[small]...)
	}
	slices.Sort(out)
	return out
}

func fmtApps(apps []string) string {
	if len(apps) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", len(apps), strings.Join(apps, ", "))
}
