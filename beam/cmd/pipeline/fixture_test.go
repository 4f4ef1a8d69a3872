package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/beam/flowgen"
)

// portableFixture writes the raw input of the job server tests: two
// generated days and two real CESNET day files (82 flows in all).
func portableFixture(t *testing.T) string {
	t.Helper()
	raw := t.TempDir()
	start, _ := time.Parse(time.DateOnly, "2022-03-12")
	if _, err := flowgen.Week(raw, start, 2, 40, 6, 2); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"WEEK-2022-40/2022-10-04/flows-20221004.csv", "WEEK-2022-52/2022-12-31/flows-20221231.csv"} {
		b, err := os.ReadFile(filepath.Join("../../../testdata/cesnet", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(raw, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(raw, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

// runParseAggregate runs the parse, aggregate and features jobs on raw into a new
// lake with the runner (and the job server endpoint of a portable runner),
// and returns the lake.
func runParseAggregate(t *testing.T, raw, runner, endpoint string) string {
	t.Helper()
	lake := t.TempDir()
	defer beamFlags(t, endpoint)()
	for _, job := range []string{"parse", "aggregate", "features"} {
		c := defaults()
		c.Job, c.Input, c.Lake, c.Runner = job, raw, lake, runner
		t0 := time.Now()
		res, err := runCLI(t, c)
		if err != nil {
			t.Fatalf("%s %s: %v", runner, job, err)
		}
		if res["runner"] != runner {
			t.Errorf("ran on %v, want %s", res["runner"], runner)
		}
		t.Logf("%s %s: %.1f s", runner, job, time.Since(t0).Seconds())
	}
	return lake
}

// beamFlags sets Beam's --endpoint as the command line would, and
// --environment_type's default as main does; the returned func restores
// both (the next run must not inherit them).
func beamFlags(t *testing.T, endpoint string) (restore func()) {
	t.Helper()
	oldEndpoint, oldEnv := *jobopts.Endpoint, *jobopts.EnvironmentType
	if err := flag.Set("endpoint", endpoint); err != nil {
		t.Fatal(err)
	}
	if err := loopbackByDefault(flag.CommandLine); err != nil {
		t.Fatal(err)
	}
	return func() {
		flag.Set("endpoint", oldEndpoint)
		flag.Set("environment_type", oldEnv)
	}
}

// sameTables checks that the flows, traffic_hourly and flow_features tables of the lake
// written by the runner equal those of the embedded prism runner.
func sameTables(t *testing.T, prismLake, lake, runner string) {
	t.Helper()
	pf, uf := readFlows(t, prismLake), readFlows(t, lake)
	if len(pf) != 82 {
		t.Errorf("%d flows, want 82", len(pf))
	}
	if diff := cmp.Diff(pf, uf, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("flows differ between prism and %s (-prism +%s):\n%s", runner, runner, diff)
	}
	ph, uh := readHourly(t, prismLake), readHourly(t, lake)
	if len(ph) == 0 {
		t.Error("no traffic_hourly rows")
	}
	if diff := cmp.Diff(ph, uh); diff != "" {
		t.Errorf("traffic_hourly differs between prism and %s (-prism +%s):\n%s", runner, runner, diff)
	}
	pff, uff := readFeatures(t, prismLake), readFeatures(t, lake)
	if len(pff) != len(pf) {
		t.Errorf("%d flow_features rows, %d flows", len(pff), len(pf))
	}
	if diff := cmp.Diff(pff, uff, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("flow_features differs between prism and %s (-prism +%s):\n%s", runner, runner, diff)
	}
}
