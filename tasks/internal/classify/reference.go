package classify

import (
	"context"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
)

// profiledSource passes the rows its scans yield to a drift profiler too,
// so the training window is profiled in the pass that samples it.
type profiledSource struct {
	Source
	prof *drift.Profiler
}

// Scan implements Source.
func (s profiledSource) Scan(ctx context.Context, from, to time.Time, fn func(*tablerow.FlowFeatures) error) error {
	return s.Source.Scan(ctx, from, to, func(r *tablerow.FlowFeatures) error {
		s.prof.Add(r)
		return fn(r)
	})
}

// saveReference writes the training window's profile, with the model's
// validation behaviour (probs: the stacked validation probabilities), as
// drift.ReferenceFile in the bundle folder dir; the register task logs it
// to MLflow with the rest of the bundle.
func saveReference(ctx context.Context, dir string, opts storage.Options, prof *drift.Profiler, fs FeatureSet, classes []string, probs []float32, labels []int) error {
	ref, err := prof.Reference(drift.ModelProfileOf(string(fs), classes, probs, labels))
	if err != nil {
		return err
	}
	return drift.SaveReference(ctx, dir, ref, opts)
}
