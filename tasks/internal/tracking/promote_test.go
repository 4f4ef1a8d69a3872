package tracking

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

func evalOf(version, window string, scores, recall map[string]float64) *EvaluationOf {
	return &EvaluationOf{
		Evaluation: Evaluation{Window: window, Scores: scores, ClassRecall: recall},
		Version:    &mlflowclient.ModelVersion{Name: "m", Version: version},
		Kind:       Classifier,
	}
}

func ptr(f float64) *float64 { return &f }

func TestDecide(t *testing.T) {
	const w = "2022-W13"
	good := map[string]float64{"a": 0.9, "b": 0.8, "c": 0.3}
	tests := []struct {
		name   string
		opts   PromoteOptions
		higher bool
		chal   *EvaluationOf
		champ  *EvaluationOf
		want   *Decision
	}{
		{
			name: "first challenger", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: 0.05}, higher: true,
			chal: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, map[string]float64{"a": 0}),
			want: &Decision{Outcome: FirstChampion, Promoted: true, ChallengerScore: 0.5, ChampionVersion: "1", Reasons: []string{"no champion yet"}},
		},
		{
			name: "better wins", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: 0.05}, higher: true,
			chal:  evalOf("2", w, map[string]float64{"macro_f1": 0.75}, good),
			champ: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, good),
			want: &Decision{Outcome: Promoted, Promoted: true, ChallengerScore: 0.75, ChampionScore: ptr(0.5),
				PreviousChampion: "1", ChampionVersion: "2", Reasons: []string{"better by 0.25"}},
		},
		{
			name: "tie keeps the champion", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: 0.05}, higher: true,
			chal:  evalOf("2", w, map[string]float64{"macro_f1": 0.5}, good),
			champ: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, good),
			want: &Decision{Outcome: KeptChampion, ChallengerScore: 0.5, ChampionScore: ptr(0.5), PreviousChampion: "1",
				ChampionVersion: "1", Reasons: []string{"not better by more than 0 (difference 0)"}},
		},
		{
			name: "better but not by the margin", opts: PromoteOptions{Metric: "macro_f1", MinDelta: 0.1, RecallFloor: 0.05}, higher: true,
			chal:  evalOf("2", w, map[string]float64{"macro_f1": 0.55}, good),
			champ: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, good),
			want: &Decision{Outcome: KeptChampion, ChallengerScore: 0.55, ChampionScore: ptr(0.5), PreviousChampion: "1",
				ChampionVersion: "1", Reasons: []string{"not better by more than 0.1 (difference 0.050000000000000044)"}},
		},
		{
			name: "lower mase wins", opts: PromoteOptions{Metric: "mase", RecallFloor: 0.05}, higher: false,
			chal:  evalOf("2", w, map[string]float64{"mase": 0.75}, nil),
			champ: evalOf("1", w, map[string]float64{"mase": 1}, nil),
			want: &Decision{Outcome: Promoted, Promoted: true, ChallengerScore: 0.75, ChampionScore: ptr(1), PreviousChampion: "1",
				ChampionVersion: "2", Reasons: []string{"better by 0.25"}},
		},
		{
			name: "higher mase loses", opts: PromoteOptions{Metric: "mase", RecallFloor: 0.05}, higher: false,
			chal:  evalOf("2", w, map[string]float64{"mase": 1.25}, nil),
			champ: evalOf("1", w, map[string]float64{"mase": 1}, nil),
			want: &Decision{Outcome: KeptChampion, ChallengerScore: 1.25, ChampionScore: ptr(1), PreviousChampion: "1",
				ChampionVersion: "1", Reasons: []string{"not better by more than 0 (difference -0.25)"}},
		},
		{
			name: "collapsed class rejects a better challenger", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: 0.05}, higher: true,
			chal:  evalOf("2", w, map[string]float64{"macro_f1": 0.9}, map[string]float64{"a": 0.99, "b": 0.01, "c": 0.02}),
			champ: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, map[string]float64{"a": 0.5, "b": 0.4, "c": 0.01}),
			// c was below the floor for the champion too: not a collapse.
			want: &Decision{Outcome: Rejected, ChallengerScore: 0.9, ChampionScore: ptr(0.5), PreviousChampion: "1",
				ChampionVersion: "1", Collapsed: []string{"b"}, Reasons: []string{"1 classes collapsed below recall 0.05: b"}},
		},
		{
			name: "class unknown to the champion is checked absolutely", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: 0.05}, higher: true,
			chal:  evalOf("2", w, map[string]float64{"macro_f1": 0.9}, map[string]float64{"a": 0.99, "new": 0}),
			champ: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, map[string]float64{"a": 0.5}),
			want: &Decision{Outcome: Rejected, ChallengerScore: 0.9, ChampionScore: ptr(0.5), PreviousChampion: "1",
				ChampionVersion: "1", Collapsed: []string{"new"}, Reasons: []string{"1 classes collapsed below recall 0.05: new"}},
		},
		{
			name: "recall check disabled", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: -1}, higher: true,
			chal:  evalOf("2", w, map[string]float64{"macro_f1": 0.9}, map[string]float64{"a": 0}),
			champ: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, map[string]float64{"a": 0.9}),
			want: &Decision{Outcome: Promoted, Promoted: true, ChallengerScore: 0.9, ChampionScore: ptr(0.5), PreviousChampion: "1",
				ChampionVersion: "2", Reasons: []string{"better by 0.4"}},
		},
		{
			name: "over the latency budget", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: 0.05, LatencyBudget: 50}, higher: true,
			chal:  evalOf("2", w, map[string]float64{"macro_f1": 0.9, MetricLatency: 80}, good),
			champ: evalOf("1", w, map[string]float64{"macro_f1": 0.5}, good),
			want: &Decision{Outcome: Rejected, ChallengerScore: 0.9, ChampionScore: ptr(0.5), PreviousChampion: "1",
				ChampionVersion: "1", Reasons: []string{"predict_us_per_row 80 over the budget 50"}},
		},
		{
			name: "latency budget applies to the first champion", opts: PromoteOptions{Metric: "macro_f1", RecallFloor: 0.05, LatencyBudget: 50}, higher: true,
			chal: evalOf("1", w, map[string]float64{"macro_f1": 0.9}, good),
			want: &Decision{Outcome: Rejected, ChallengerScore: 0.9, ChampionVersion: "",
				Reasons: []string{"no predict_us_per_row measured for the latency budget 50"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Name = "m"
			got, err := decide(tt.opts, tt.higher, tt.chal, tt.champ)
			if err != nil {
				t.Fatal(err)
			}
			want := *tt.want
			want.Name, want.Metric, want.HigherIsBetter, want.Window, want.ChallengerVersion = "m", tt.opts.Metric, tt.higher, w, tt.chal.Version.Version
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideRefuses(t *testing.T) {
	opts := PromoteOptions{Name: "m", Metric: "macro_f1", RecallFloor: 0.05}
	score := map[string]float64{"macro_f1": 0.5}
	tests := []struct {
		name        string
		chal, champ *EvaluationOf
		is          error
		msg         string
	}{
		{"different windows", evalOf("2", "2022-W14", score, nil), evalOf("1", "2022-W13", score, nil), ErrWindowMismatch, `on "2022-W13"`},
		{"challenger not evaluated", evalOf("2", "", score, nil), nil, nil, "no evaluation window"},
		{"challenger lacks the metric", evalOf("2", "w", map[string]float64{"mase": 1}, nil), nil, nil, "no macro_f1 score"},
		{"champion lacks the metric", evalOf("2", "w", score, nil), evalOf("1", "w", map[string]float64{}, nil), nil, "champion version 1 has no macro_f1"},
		{"NaN score", evalOf("2", "w", map[string]float64{"macro_f1": math.NaN()}, nil), nil, nil, "no macro_f1 score"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decide(opts, true, tt.chal, tt.champ)
			if err == nil || !strings.Contains(err.Error(), tt.msg) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("err = %v, want one matching %v and mentioning %q", err, tt.is, tt.msg)
			}
		})
	}
	champ := evalOf("1", "w", score, nil)
	champ.Kind = Forecaster
	if _, err := decide(opts, true, evalOf("2", "w", score, nil), champ); err == nil || !strings.Contains(err.Error(), "forecaster") {
		t.Errorf("kind mismatch: err = %v", err)
	}
}

func TestHigherIsBetter(t *testing.T) {
	tests := []struct {
		metric     string
		higher, ok bool
	}{
		{"macro_f1", true, true},
		{"accuracy", true, true},
		{"unknown_tpr_at_5fpr", true, true},
		{"peak_capture", true, true},
		{"mase", false, true},
		{"MAE", false, true},
		{"valid_mlogloss", false, true},
		{MetricLatency, false, true},
		{"coverage_80", false, false}, // best at 0.8, not monotone
		{"score", false, false},
	}
	for _, tt := range tests {
		if h, ok := HigherIsBetter(tt.metric); h != tt.higher || ok != tt.ok {
			t.Errorf("HigherIsBetter(%q) = %v, %v; want %v, %v", tt.metric, h, ok, tt.higher, tt.ok)
		}
	}
}

func TestDecisionString(t *testing.T) {
	d := &Decision{Name: "svc", Outcome: KeptChampion, Metric: "macro_f1", Window: "2022-W13", ChallengerVersion: "3",
		ChallengerScore: 0.5, ChampionScore: ptr(0.75), PreviousChampion: "2", ChampionVersion: "2", Reasons: []string{"not better"}}
	want := "svc: kept_champion on macro_f1, window 2022-W13: challenger v3 macro_f1=0.5 vs champion v2 macro_f1=0.75; champion is now v2 — not better"
	if got := d.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
	idle := &Decision{Name: "svc", Outcome: NothingToDo, Reasons: []string{"no challenger"}}
	if got, want := idle.String(), "svc: nothing to do (no challenger); champion is none"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
