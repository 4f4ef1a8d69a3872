// Package drift owns drift and emerging-service detection: quantile-binned
// histograms of the flow features, their divergences (KL with smoothing, JS,
// PSI), the reference profile a model is trained on (saved beside its
// bundle as reference.json), the ADWIN change detector (river's semantics),
// the day-by-day state the daily check carries in the lake, emerging
// services, and the decision the driftcheck task returns.
package drift
