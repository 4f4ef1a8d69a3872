package main

import (
	"flag"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
)

// TestDefaultsOnce: the binary's flag defaults are the DefaultTrainConfig a
// Go caller starts from.
func TestDefaultsOnce(t *testing.T) {
	var c classify.TrainConfig
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	trainFlags(fs, &c)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(classify.DefaultTrainConfig(), c, cmpopts.IgnoreFields(classify.TrainConfig{}, "Store")); diff != "" {
		t.Errorf("flags' defaults differ from DefaultTrainConfig (-want +got):\n%s", diff)
	}
}
