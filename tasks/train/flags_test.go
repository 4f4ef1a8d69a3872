package main

import (
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

// TestDefaultsOnce: the binary's flag defaults are the DefaultTrainConfig a
// Go caller starts from.
func TestDefaultsOnce(t *testing.T) {
	taskiotest.CheckFlagDefaults(t, trainFlags, classify.DefaultTrainConfig(), cmpopts.IgnoreFields(classify.TrainConfig{}, "Store"))
}
