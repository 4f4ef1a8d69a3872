// Package taskiotest holds the checks the tests of every task binary make.
package taskiotest

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// CheckLinks fails the test when the package in the working directory (the
// task under test) links a package whose import path starts with one of
// banned, or does not link want, which would make the check vacuous. Task
// binaries must stay small: no Beam SDK (README, Architecture), and the registry
// tasks no libxgboost either.
func CheckLinks(t testing.TB, want string, banned ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list listed nothing")
	}
	self := deps[len(deps)-1] // -deps lists the named package last
	for _, p := range deps {
		for _, b := range banned {
			if strings.HasPrefix(p, b) {
				t.Errorf("%s links %s", self, p)
			}
		}
	}
	if !slices.Contains(deps, want) {
		t.Errorf("go list output for %s does not list %s; the check would be vacuous", self, want)
	}
}
