package main

import (
	"flag"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
)

// TestDefaultsOnce: the binary's flag defaults are the DefaultEvalConfig a
// Go caller starts from.
func TestDefaultsOnce(t *testing.T) {
	var c classify.EvalConfig
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	evalFlags(fs, &c)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(classify.DefaultEvalConfig(), c, cmpopts.IgnoreFields(classify.EvalConfig{}, "Store")); diff != "" {
		t.Errorf("flags' defaults differ from DefaultEvalConfig (-want +got):\n%s", diff)
	}
}
