// Package taskiotest holds the checks the tests of every task binary make.
package taskiotest

import (
	"errors"
	"flag"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// CheckFlagDefaults fails the test when the defaults register gives the
// binary's flags differ from want, the default config a Go caller starts
// from: one source of defaults for the command line and the library. opts
// ignore the fields no flag sets.
func CheckFlagDefaults[C any](t testing.TB, register func(*flag.FlagSet, *C), want C, opts ...cmp.Option) {
	t.Helper()
	var got C
	fs := flag.NewFlagSet("defaults", flag.ContinueOnError)
	register(fs, &got)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("flags' defaults differ from the default config (-want +got):\n%s", diff)
	}
}
