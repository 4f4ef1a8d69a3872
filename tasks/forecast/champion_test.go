package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
)

// TestForecasterRegisteredAndPromoted runs the task twice with --model-name
// against a real mlflow server, registering and promoting (on mase) each
// run's forecaster as register and promote do: the first run has no
// champion and uses the defaults, becomes version 1 and champion; the
// second starts from the champion's settings (metrics, max apps) except the
// one flag it sets (backtest weeks stay equal so the windows match), and
// promote decides between the two on the same backtest window, the
// champion's settings scored again on it by the second run; the third
// sets no flag, so it re-scores the champion and ties with it.
func TestForecasterRegisteredAndPromoted(t *testing.T) {
	ctx := t.Context()
	const experiment, model = "telco-traffic-forecast", "telco-traffic-forecaster"
	mlcfg, tr := trackingtest.Tracker(t, "")
	lake := fixtureLake(t)
	forecastOnce := func(args ...string) (config, result) {
		t.Helper()
		args = append([]string{"--lake", lake, "--backtest-weeks", "1", "--experiment", experiment, "--model-name", model}, args...)
		cfg, err := parseFlags(flag.NewFlagSet("forecast", flag.ContinueOnError), args)
		if err != nil {
			t.Fatal(err)
		}
		cfg.mlflow = mlcfg
		var stdout, stderr bytes.Buffer
		if cfg, err = withChampion(ctx, cfg, args, &stderr); err != nil {
			t.Fatalf("withChampion: %v\n%s", err, stderr.String())
		}
		if err := run(ctx, cfg, &stdout, &stderr); err != nil {
			t.Fatalf("run: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		var res result
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatal(err)
		}
		return cfg, res
	}
	registerAndPromote := func(runID string) (*tracking.Registered, *tracking.Decision) {
		t.Helper()
		reg, err := tracking.Register(ctx, tr.Client, tracking.RegisterOptions{Name: model, RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		if reg.Tags[tracking.TagKind] != string(tracking.Forecaster) || !strings.HasPrefix(reg.Tags[tracking.TagEvalWindow], "backtest ") || reg.Tags["mase"] == "" {
			t.Errorf("version %s tags %v: want kind forecaster, the backtest window and mase", reg.Version, reg.Tags)
		}
		d, err := tracking.Promote(ctx, tr.Client, tracking.PromoteOptions{Name: model, Metric: "mase"})
		if err != nil {
			t.Fatal(err)
		}
		if d.HigherIsBetter {
			t.Error("promote took mase as higher-is-better")
		}
		champ, err := tracking.ResolveAlias(ctx, tr.Client, model, tracking.AliasChampion)
		if err != nil {
			t.Fatal(err)
		}
		if champ.Version != d.ChampionVersion {
			t.Errorf("champion alias on version %s, decision says %s (%s)", champ.Version, d.ChampionVersion, d)
		}
		return reg, d
	}

	_, first := forecastOnce("--metrics", "flows", "--max-apps", "3")
	if first.SettingsFrom != settingsDefaults || first.MLflowRunID == "" {
		t.Fatalf("first run: settings from %q, run %q; want defaults and a run", first.SettingsFrom, first.MLflowRunID)
	}
	reg1, d1 := registerAndPromote(first.MLflowRunID)
	if reg1.Version != "1" || reg1.Alias != tracking.AliasChallenger || d1.Outcome != tracking.FirstChampion {
		t.Fatalf("first: version %s alias %s, %s; want version 1, challenger, first champion", reg1.Version, reg1.Alias, d1)
	}

	cfg2, second := forecastOnce("--headroom", "2")
	if want := model + " version 1"; second.SettingsFrom != want {
		t.Errorf("second run: settings from %q, want %q", second.SettingsFrom, want)
	}
	if !slices.Equal(cfg2.fc.Panel.Metrics, []string{"flows"}) || cfg2.fc.Panel.MaxApps != 3 || cfg2.fc.Headroom != 2 {
		t.Errorf("second run: metrics %v, max apps %d, headroom %g; want the champion's flows and 3, the flag's 2",
			cfg2.fc.Panel.Metrics, cfg2.fc.Panel.MaxApps, cfg2.fc.Headroom)
	}
	r, err := tr.Client.Runs.Get(ctx, second.MLflowRunID)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"metrics": "flows", "max_apps": "3", "headroom": "2"} {
		if got, _ := r.Data.Param(k); got != want {
			t.Errorf("second run param %s = %q, want %q", k, got, want)
		}
	}
	if got, _ := r.Data.Tag(tagSettingsFrom); got != model+" version 1" {
		t.Errorf("second run tag %s = %q", tagSettingsFrom, got)
	}
	// Its settings differ (headroom): the champion's were scored on the
	// same backtest in a run of its own, now version 1's evaluation.
	v1, err := tr.Client.ModelVersions.Get(ctx, model, "1")
	if err != nil {
		t.Fatal(err)
	}
	evalID, _ := v1.Tag(tracking.TagEvalRunID)
	if evalID == "" || evalID == first.MLflowRunID || evalID == second.MLflowRunID {
		t.Errorf("version 1 evaluation run %q, want a re-scoring run besides %s and %s", evalID, first.MLflowRunID, second.MLflowRunID)
	} else if er, err := tr.Client.Runs.Get(ctx, evalID); err != nil {
		t.Fatal(err)
	} else if from, _ := er.Data.Tag(tagSettingsFrom); from != model+" version 1 (re-scored)" {
		t.Errorf("re-scoring run %s settings from %q", evalID, from)
	} else if hr, _ := er.Data.Param("headroom"); hr != "1.5" {
		t.Errorf("re-scoring run headroom %q, want the champion's 1.5", hr)
	}
	reg2, d2 := registerAndPromote(second.MLflowRunID)
	if reg2.Version != "2" || d2.ChallengerVersion != "2" || d2.PreviousChampion != "1" || d2.Window != d1.Window {
		t.Errorf("second: version %s, %s; want version 2 decided against champion 1 on window %s", reg2.Version, d2, d1.Window)
	}
	if d2.Outcome != tracking.Promoted && d2.Outcome != tracking.KeptChampion {
		t.Errorf("second decision %s, want promoted or kept", d2)
	}

	// A run with exactly the champion's settings is the champion's
	// evaluation on its window: its version ties with the champion.
	_, third := forecastOnce()
	if want := model + " version " + d2.ChampionVersion; third.SettingsFrom != want {
		t.Errorf("third run: settings from %q, want %q", third.SettingsFrom, want)
	}
	champ, err := tr.Client.ModelVersions.Get(ctx, model, d2.ChampionVersion)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := champ.Tag(tracking.TagEvalRunID); id != third.MLflowRunID {
		t.Errorf("champion version %s evaluation run %q, want the third run %s", champ.Version, id, third.MLflowRunID)
	}
	reg3, d3 := registerAndPromote(third.MLflowRunID)
	if reg3.Version != "3" || d3.Outcome != tracking.KeptChampion || d3.ChampionScore == nil || *d3.ChampionScore != d3.ChallengerScore {
		t.Errorf("third: version %s, %s; want version 3 tied with the champion and kept", reg3.Version, d3)
	}
}

// TestModelNameNeedsExperiment: without --experiment, --model-name is refused.
func TestModelNameNeedsExperiment(t *testing.T) {
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseFlags(fs, []string{"--lake", "x", "--model-name", "m"}); err == nil || !strings.Contains(err.Error(), "--experiment") {
		t.Fatalf("err %v, want --model-name needs --experiment", err)
	}
}
