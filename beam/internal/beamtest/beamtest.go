// Package beamtest runs pipelines in tests the way a strict launch would.
package beamtest

import (
	"context"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/vet"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// Vet fails when a function or type of the pipeline is not registered
// (what --beam_strict checks before running).
func Vet(t testing.TB, p *beam.Pipeline) {
	t.Helper()
	e, err := vet.Evaluate(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Performant() {
		t.Fatalf("pipeline is not performant (unregistered functions or types):\n%s", e.Bytes())
	}
}

// Run vets p and runs it on the test runner (the package's TestMain must
// call ptest.Main).
func Run(t testing.TB, p *beam.Pipeline) {
	t.Helper()
	Vet(t, p)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}
