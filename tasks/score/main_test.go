package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/tasks/internal/serve"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

// TestRunErrors: bad flags fail before any service is contacted, with no
// result on stdout. (The whole task runs in tasks/internal/demo's
// TestChainOnS3 and in the DAG tests.)
func TestRunErrors(t *testing.T) {
	mlflow := tracking.Config{TrackingURI: "http://127.0.0.1:1"}
	for _, tt := range []struct {
		flags serve.Flags
		msg   string
	}{
		{serve.Flags{Day: "2022-01-03"}, "--lake is required"},
		{serve.Flags{Config: serve.Config{Lake: "lake"}}, "--day"},
		{serve.Flags{Config: serve.Config{Lake: "lake"}, Day: "2022-01-03", FromDay: "2022-01-01"}, "not both"},
		{serve.Flags{Config: serve.Config{Lake: "lake"}, Day: "3.1.2022"}, "day"},
		{serve.Flags{Config: serve.Config{Lake: "lake"}, FromDay: "2022-01-05", ToDay: "2022-01-03"}, "before"},
	} {
		var stdout bytes.Buffer
		err := run(context.Background(), config{mlflow: mlflow, score: tt.flags}, &stdout, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("flags %+v: error %v, want one mentioning %q", tt.flags, err, tt.msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("flags %+v: result written on failure: %q", tt.flags, stdout.String())
		}
	}
}

// Task binaries must stay small: no Beam SDK.
func TestNoBeamDependency(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/serve", "github.com/apache/beam")
}
