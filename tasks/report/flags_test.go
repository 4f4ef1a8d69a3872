package main

import (
	"flag"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/tasks/internal/report"
)

func TestVersionFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want map[string]int64
		err  bool
	}{
		{[]string{"--version", "traffic_hourly=3", "--version", " forecasts = 0"}, map[string]int64{"traffic_hourly": 3, "forecasts": 0}, false},
		{[]string{"--version", "traffic_hourly"}, nil, true},
		{[]string{"--version", "traffic_hourly=-1"}, nil, true},
		{[]string{"--version", "flows=1"}, nil, true},
	} {
		fs := flag.NewFlagSet("report", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var c report.Config
		reportFlags(fs, &c)
		err := fs.Parse(tc.args)
		if (err != nil) != tc.err {
			t.Errorf("%v: error %v", tc.args, err)
		}
		if !tc.err {
			if d := cmp.Diff(tc.want, c.Versions); d != "" {
				t.Errorf("%v: versions (-want +got):\n%s", tc.args, d)
			}
		}
	}
}
