package demo

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/mlflowclient/mlflowtest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/serve"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// buildTasks builds the task binaries into a temporary folder.
func buildTasks(t *testing.T, names ...string) string {
	t.Helper()
	bin := t.TempDir()
	for _, n := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, n), "github.com/telcotraffic/telcotraffic/tasks/"+n)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", n, err, out)
		}
	}
	return bin
}

// TestChainOnS3 runs the production chain as Airflow pods would, one binary
// per task with only flags and environment between them: train → evaluate
// → register → promote → score, with the lake, the bundles and the report
// on S3 (versitygw) and the models in a real MLflow registry. Nothing
// passes through local disk: each task runs in its own empty folder.
func TestChainOnS3(t *testing.T) {
	ctx := context.Background()
	gw, opts := testenv.StartS3(t, "telco")
	mlflow := mlflowtest.Start(t)
	raw := t.TempDir()
	days := classifytest.Weekly(5, 200)
	days[4].Opts.NoSNIFrac = 0.3
	if _, err := classifytest.WriteRaw(ctx, raw, 1, classifytest.Apps(6), days); err != nil {
		t.Fatal(err)
	}
	lake := "s3://telco/lake"
	if _, err := classifytest.WriteLake(ctx, lake, raw, classifytest.LakeOptions{Store: opts}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Bin: buildTasks(t, "train", "evaluate", "register", "promote", "score"),
		env: append(gw.Env(), "MLFLOW_TRACKING_URI="+mlflow.URL)}
	var log bytes.Buffer
	run := func(res any, name string, args ...string) {
		t.Helper()
		wd := t.TempDir()
		c := cfg
		c.env = append(c.env, "HOME="+wd, "TMPDIR="+wd)
		if err := stageIn(ctx, c, wd, &log, res, name, args...); err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		if left, _ := os.ReadDir(wd); len(left) > 0 {
			t.Errorf("%s left files in its working folder: %v", name, left)
		}
	}
	type promoted = tracking.Decision
	// trainRegister trains as of a day, evaluates, registers and promotes.
	trainRegister := func(run1, asOf, wantTest string) (string, promoted) {
		models, reports := "s3://telco/models/classifier/"+run1, "s3://telco/reports/classifier/"+run1
		var tr classify.TrainResult
		run(&tr, "train", "--lake", lake, "--out", models, "--members", "linear", "--train-weeks", "2",
			"--min-class-rows", "5", "--holdout-frac", "0", "--as-of", asOf, "--experiment", "chain")
		if len(tr.Bundles) != 2 || tr.Bundles[0].Dir != models+"/sni" || len(tr.Test) != 1 || tr.Test[0] != wantTest {
			t.Fatalf("train as of %s: result %+v, want test week %s", asOf, tr, wantTest)
		}
		var ev classify.Result
		run(&ev, "evaluate", "--lake", lake, "--model", models, "--out", reports, "--run-id", tr.MLflowRunID)
		if math.IsNaN(float64(ev.MacroF1)) || ev.Report != reports+"/report.json" || ev.TestWeek != wantTest {
			t.Fatalf("evaluate result %+v", ev)
		}
		if _, err := storage.ReadFile(ctx, ev.Report, opts); err != nil {
			t.Fatalf("report on S3: %v", err)
		}
		var reg tracking.Registered
		run(&reg, "register", "--name", "clf", "--run-id", tr.MLflowRunID)
		var pr promoted
		run(&pr, "promote", "--name", "clf", "--metric", "macro_f1", "--lake", lake)
		return reg.Version, pr
	}
	v1, pr := trainRegister("run1", "2022-01-30", "2022-W04")
	if pr.Outcome != "first_champion" || pr.ChampionVersion != v1 {
		t.Fatalf("first promote: %+v", pr)
	}
	// A week later the window moves; promote scores the champion on the
	// challenger's test week itself.
	v2, pr := trainRegister("run2", "2022-02-06", "2022-W05")
	if pr.Window != "2022-W05" || pr.RescoredRun == "" || pr.ChampionScore == nil ||
		(pr.Outcome != "promoted" && pr.Outcome != "kept_champion") {
		t.Fatalf("second promote: %+v; want a decision on 2022-W05 against the re-scored champion", pr)
	}
	t.Logf("second promote: %+v", pr)

	// Nothing new to learn: the newest registered version learned from
	// this flow_features version and window.
	exit99 := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(cfg.Bin, name), args...)
		cmd.Env = append(os.Environ(), cfg.env...)
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 99 {
			t.Errorf("%s %v: %v, want exit 99\n%s", name, args, err, out)
		}
	}
	exit99("train", "--lake", lake, "--out", "s3://telco/models/classifier/run3", "--members", "linear", "--train-weeks", "2",
		"--min-class-rows", "5", "--holdout-frac", "0", "--as-of", "2022-02-06", "--model-name", "clf")
	exit99("score", "--name", "no-such-model", "--lake", lake, "--day", "2022-01-31")
	champion := v1
	if pr.Outcome == "promoted" {
		champion = v2
	}
	var sc serve.Result
	run(&sc, "score", "--name", "clf", "--lake", lake, "--day", "2022-01-31")
	if sc.ScoredFlows != 200 || math.IsNaN(float64(sc.UsageShareMAE)) || sc.ModelVersion != champion || sc.Variants.NoSNI == 0 {
		t.Fatalf("score result %+v", sc)
	}
	if !strings.Contains(log.String(), "models:/clf@champion is version "+champion) {
		t.Errorf("score did not resolve the champion alias:\n%s", log.String())
	}
	exit99("score", "--name", "clf", "--lake", lake, "--day", "2022-01-31") // same inputs again
}
