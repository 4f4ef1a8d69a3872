package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

func TestRegisterFlags(t *testing.T) {
	var r tracking.RegisterOptions
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	registerFlags(fs, &r)
	if err := fs.Parse([]string{"--name", "svc", "--run-id", "abc", "--scores", "f1_weighted, auc", "--wait", "10s",
		"--tag", "reason=drift", "--tag=note=a=b"}); err != nil {
		t.Fatal(err)
	}
	want := tracking.RegisterOptions{Name: "svc", RunID: "abc", ArtifactPath: "model", Alias: "challenger", Wait: 10 * time.Second,
		Scores: []string{"f1_weighted", "auc"}, Tags: map[string]string{"reason": "drift", "note": "a=b"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("register options (-want +got):\n%s", diff)
	}
	fs = flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	registerFlags(fs, &tracking.RegisterOptions{})
	if err := fs.Parse([]string{"--tag", "no-value"}); err == nil {
		t.Error("--tag without =: no error")
	}
}
