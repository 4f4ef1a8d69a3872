package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Task binaries must stay small: no Beam SDK (ARCHITECTURE.md).
func TestNoBeamDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/apache/beam") {
			t.Errorf("generate links %s", p)
		}
	}
	if !strings.Contains(string(out), "github.com/telcotraffic/telcotraffic/tasks/internal/synth") {
		t.Error("go list output does not list synth; the check would be vacuous")
	}
}
