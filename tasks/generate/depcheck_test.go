package main

import (
	"testing"

	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

// Task binaries must stay small: no Beam SDK (README, Architecture).
func TestNoBeamDependency(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/synth", "github.com/apache/beam")
}
