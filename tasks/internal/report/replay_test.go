package report

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/replay"
)

// TestReplaySection: a lake with replay_weekly (make replay) gets the
// Replay section, its rows in week order with NaN as null, and the table
// in the list of tables read; a lake without it has no section.
func TestReplaySection(t *testing.T) {
	lake := t.TempDir()
	writeLake(t, lake, storage.Options{}, lakeTables{hourly: true})
	d, err := Build(t.Context(), Config{Lake: lake, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if d.Replay != nil {
		t.Fatalf("no replay_weekly, but a Replay section: %+v", d.Replay)
	}
	weeks := []tablerow.ReplayWeek{
		{Week: "2022-W05", FrozenVersion: "1", LoopVersion: "1", Flows: 900, FrozenMacroF1NoSNI: 0.8, FrozenAccuracy: 0.9,
			LoopMacroF1NoSNI: 0.8, LoopAccuracy: 0.9, ForecastMASE: math.NaN()},
		{Week: "2022-W06", FrozenVersion: "1", LoopVersion: "2", Flows: 950, FrozenMacroF1NoSNI: 0.5, FrozenAccuracy: 0.6,
			LoopMacroF1NoSNI: 0.7, LoopAccuracy: 0.8, ForecastMASE: 0.9, DriftAlertDays: 2, Retrains: 2, Promotions: 1,
			Events: "peering_change"},
	}
	if err := replay.WriteWeeks(t.Context(), lake, weeks); err != nil {
		t.Fatal(err)
	}
	if d, err = Build(t.Context(), Config{Lake: lake, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if d.Replay == nil || len(d.Replay.Weeks) != 2 || d.Replay.Weeks[1].LoopVersion != "2" || d.Replay.Weeks[1].Events != "peering_change" {
		t.Fatalf("Replay section %+v", d.Replay)
	}
	if last := d.Tables[len(d.Tables)-1]; last.Name != ReplayTable || last.Rows != 2 {
		t.Errorf("tables read end with %+v, want %s with 2 rows", last, ReplayTable)
	}
	b, err := json.Marshal(d.Replay.Weeks[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"forecast_mase":null`) {
		t.Errorf("a week without forecast runs: %s", b)
	}
	page, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `id="replay"`) {
		t.Error("the page has no replay section")
	}
}
