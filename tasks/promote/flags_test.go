package main

import (
	"flag"
	"testing"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

func TestPromoteFlags(t *testing.T) {
	var p tracking.PromoteOptions
	fs := flag.NewFlagSet("promote", flag.ContinueOnError)
	promoteFlags(fs, &p)
	if err := fs.Parse([]string{"--name", "fc", "--metric", "pinball_80"}); err != nil {
		t.Fatal(err)
	}
	if p.HigherIsBetter != nil || p.RecallFloor != tracking.DefaultRecallFloor {
		t.Errorf("defaults: %+v", p)
	}
	for _, tt := range []struct {
		args []string
		want bool
	}{{[]string{"--higher-is-better"}, true}, {[]string{"--higher-is-better=false"}, false}} {
		p := tracking.PromoteOptions{}
		fs := flag.NewFlagSet("promote", flag.ContinueOnError)
		promoteFlags(fs, &p)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		if p.HigherIsBetter == nil || *p.HigherIsBetter != tt.want {
			t.Errorf("%v: HigherIsBetter = %v, want %v", tt.args, p.HigherIsBetter, tt.want)
		}
	}
}
