package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// TestSummaryLines: the summary is one "key: value" line per field in a
// fixed order, with the keys `make replay` promises.
func TestSummaryLines(t *testing.T) {
	s := Summary{Weeks: 13, Days: 91, Complete: true, DAGRuns: 230, Retrains: 12, Promotions: 4, FrozenMacroF1: 0.5,
		LoopMacroF1: 0.61234, AfterWeek: "2022-W10", RowsRaw: 100, RowsFlows: 98, RowsRejects: 2}
	got := s.Lines()
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		k, _, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("line %q is not key: value", line)
		}
		keys = append(keys, k)
	}
	for _, want := range []string{"weeks", "dag_runs_failed", "retrains", "promotions", "frozen_macro_f1_no_sni",
		"loop_macro_f1_no_sni", "false_retrains", "rows_raw", "rows_flows"} {
		if !strings.Contains(got, "\n"+want+": ") && !strings.HasPrefix(got, want+": ") {
			t.Errorf("summary lacks %s:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "loop_macro_f1_no_sni: 0.6123\n") || !strings.HasPrefix(got, "weeks: 13\n") {
		t.Errorf("summary:\n%s", got)
	}
	if got != s.Lines() || len(keys) != 18 {
		t.Errorf("%d keys %v", len(keys), keys)
	}
}

func TestMondays(t *testing.T) {
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ days, want int }{{14, 2}, {91, 13}, {6, 0}, {7, 1}} {
		if got := mondays(start, c.days); got != c.want {
			t.Errorf("mondays(2022-01-03, %d) = %d, want %d", c.days, got, c.want)
		}
	}
}

func TestEventWeeks(t *testing.T) {
	m := &synth.Manifest{Events: []synth.Event{
		{Kind: synth.KindPeeringChange, From: "2022-02-07", Week: "2022-W06", InRange: true},
		{Kind: "client_update", App: "zoom", From: "2022-02-18", Week: "2022-W07", InRange: true},
		{Kind: synth.KindNewService, App: "tinder", From: "2022-06-06", Week: "2022-W23"},
	}}
	got := eventWeeks(m)
	if len(got) != 2 || got["2022-W06"][0] != "peering_change" || got["2022-W07"][0] != "client_update:zoom" {
		t.Errorf("eventWeeks = %v", got)
	}
}
