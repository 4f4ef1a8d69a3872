package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/mlflowclient/mlflowtest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

var classes = []string{"web", "video", "messaging"}

// synth returns n rows of 4 features whose class needs an interaction to
// tell: class 2 when x2 > 0.8, else class 1 when x0·x1 > 0, else class 0.
// Stumps (depth 1) cannot learn x0·x1; deeper trees can.
func synth(seed uint64, n int) (xgb.Matrix, []float32) {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := xgb.Matrix{Data: make([]float32, n*4), Rows: n, Cols: 4}
	y := make([]float32, n)
	for i := range n {
		row := x.Data[i*4 : i*4+4]
		for j := range row {
			row[j] = float32(rng.NormFloat64())
		}
		switch {
		case row[2] > 0.8:
			y[i] = 2
		case row[0]*row[1] > 0:
			y[i] = 1
		}
	}
	return x, y
}

// model is one trained candidate with its scores on a window.
type model struct {
	name      string
	booster   *xgb.Booster
	trainLoss []float64
	validLoss []float64
	pred      []int // classes predicted for the test rows
	eval      tracking.Evaluation
	confusion [][]int64
}

// train fits a booster (labels shuffled when garbage is set, for a model
// that learned nothing) and scores it on the test rows.
func train(t *testing.T, name string, depth, rounds int, garbage bool, window string, test xgb.Matrix, testY []float32) *model {
	t.Helper()
	x, y := synth(1, 600)
	if garbage {
		rng := rand.New(rand.NewPCG(9, 9))
		rng.Shuffle(len(y), func(i, j int) { y[i], y[j] = y[j], y[i] })
	}
	vx, vy := synth(2, 200)
	dtrain, err := xgb.NewDMatrix(x, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dtrain.Close()
	dvalid, err := xgb.NewDMatrix(vx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dvalid.Close()
	if err := dtrain.SetLabels(y); err != nil {
		t.Fatal(err)
	}
	if err := dvalid.SetLabels(vy); err != nil {
		t.Fatal(err)
	}
	m := &model{name: name}
	m.booster, err = xgb.Train(context.Background(),
		xgb.Params{Objective: xgb.MultiSoftprob, NumClass: len(classes), MaxDepth: depth, Eta: 0.5, NumThreads: 1, Seed: 1},
		dtrain, xgb.TrainOptions{Rounds: rounds, Evals: []xgb.Eval{{Name: "train", Data: dtrain}, {Name: "valid", Data: dvalid}},
			OnRound: func(r xgb.Round) error {
				for _, mt := range r.Metrics {
					if mt.Eval == "train" {
						m.trainLoss = append(m.trainLoss, mt.Value)
					} else {
						m.validLoss = append(m.validLoss, mt.Value)
					}
				}
				return nil
			}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.booster.Close() })
	start := time.Now()
	p, err := m.booster.Predict(test, xgb.PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	latency := float64(time.Since(start).Microseconds()) / float64(test.Rows)
	m.pred = p.ArgMax()
	m.eval, m.confusion = score(window, m.pred, testY)
	m.eval.Scores[tracking.MetricLatency] = latency
	return m
}

// score computes accuracy, macro-F1 and per-class recall.
func score(window string, pred []int, y []float32) (tracking.Evaluation, [][]int64) {
	k := len(classes)
	cm := make([][]int64, k)
	for i := range cm {
		cm[i] = make([]int64, k)
	}
	correct := 0
	for i, p := range pred {
		cm[int(y[i])][p]++
		if p == int(y[i]) {
			correct++
		}
	}
	ev := tracking.Evaluation{Window: window, Scores: map[string]float64{}, ClassRecall: map[string]float64{}}
	var f1sum float64
	for c := range k {
		var tp, fn, fp int64
		for j := range k {
			if j == c {
				tp = cm[c][c]
			} else {
				fn += cm[c][j]
				fp += cm[j][c]
			}
		}
		recall := float64(tp) / float64(max(tp+fn, 1))
		precision := float64(tp) / float64(max(tp+fp, 1))
		if recall+precision > 0 {
			f1sum += 2 * precision * recall / (precision + recall)
		}
		ev.ClassRecall[classes[c]] = recall
	}
	ev.Scores["accuracy"] = float64(correct) / float64(len(pred))
	ev.Scores["macro_f1"] = f1sum / float64(k)
	return ev, cm
}

// logRun trains nothing: it logs an already trained model the way the train
// and evaluate tasks do, and returns the run.
func logRun(t *testing.T, tr *tracking.Tracker, m *model) *tracking.Run {
	t.Helper()
	ctx := context.Background()
	run, err := tr.StartRun(ctx, "", m.name, tracking.RunTags{
		Kind: tracking.Classifier, Tables: map[string]int64{"flow_features": 3, "flows": 12},
		GitCommit: "0123456789abcdef0123456789abcdef01234567", Note: "end-to-end test run " + m.name,
		Extra: map[string]string{"airflow.dag_id": "telco_train"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.LogParams(ctx, map[string]string{"objective": "multi:softprob", "rounds": fmt.Sprint(len(m.trainLoss))}); err != nil {
		t.Fatal(err)
	}
	if err := run.LogHistory(ctx, "train_mlogloss", m.trainLoss); err != nil {
		t.Fatal(err)
	}
	if err := run.LogHistory(ctx, "valid_mlogloss", m.validLoss); err != nil {
		t.Fatal(err)
	}

	bundle := filepath.Join(t.TempDir(), "bundle")
	if err := os.MkdirAll(filepath.Join(bundle, "xgb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.booster.SaveFile(filepath.Join(bundle, "xgb", "model.json")); err != nil {
		t.Fatal(err)
	}
	manifest, _ := json.Marshal(map[string]any{"format": "telcotraffic.test/1", "classes": classes})
	if err := os.WriteFile(filepath.Join(bundle, "manifest.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := run.LogBundle(ctx, bundle, tracking.ModelSpec{
		Kind: tracking.Classifier, Format: "telcotraffic.test/1", XGBoostModel: "xgb/model.json",
		XGBVersion: xgb.Version(), Members: []string{"xgb"}, Classes: classes,
		Tables: map[string]int64{"flow_features": 3, "flows": 12}})
	if err != nil || n != 3 {
		t.Fatalf("LogBundle = %d files, %v; want 3 (model.json, manifest.json, MLmodel)", n, err)
	}

	evalDir := t.TempDir()
	report, _ := json.MarshalIndent(map[string]any{"window": m.eval.Window, "scores": m.eval.Scores, "class_recall": m.eval.ClassRecall}, "", "  ")
	if err := os.WriteFile(filepath.Join(evalDir, "report.json"), report, 0o644); err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	if err := (&classify.Confusion{Labels: classes, M: m.confusion}).WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(evalDir, "confusion_sni.csv"), csv.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := run.LogArtifacts(ctx, evalDir, "evaluation"); err != nil || n != 2 {
		t.Fatalf("LogArtifacts = %d, %v; want 2 files", n, err)
	}
	if err := run.LogEvaluation(ctx, m.eval); err != nil {
		t.Fatal(err)
	}
	if err := run.EndWith(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return run
}

// artifactsDir is where screenshots are kept: $TELCO_TEST_ARTIFACTS/<test>
// if set (CI uploads it), else a temporary directory.
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("TELCO_TEST_ARTIFACTS"); d != "" {
		dir := filepath.Join(d, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// TestEndToEnd trains tiny XGBoost models in Go, logs them to a real MLflow
// server like the train and evaluate tasks, registers and promotes them,
// loads the champion with Python MLflow and checks the UI shows it all.
func TestEndToEnd(t *testing.T) {
	py := mlflowtest.Peer(t, "TELCO_PYTHON")
	chromium := trackingtest.Chromium(t)
	srv := mlflowtest.Start(t)
	ctx := context.Background()
	tr, err := tracking.New(tracking.Config{TrackingURI: srv.URL, Experiment: "telco-e2e"},
		mlflowclient.WithTimeout(60*time.Second), mlflowclient.WithRetries(2, 100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c := tr.Client
	const name = "telco-e2e-classifier"
	const window = "2022-W13"

	testX, testY := synth(3, 300)
	stumps := train(t, "train-stumps", 1, 3, false, window, testX, testY)
	garbage := train(t, "train-garbage", 3, 10, true, window, testX, testY)
	deep := train(t, "train-deep", 4, 25, false, window, testX, testY)
	f1 := func(m *model) float64 { return m.eval.Scores["macro_f1"] }
	t.Logf("macro_f1 on %s: stumps %.4f, garbage %.4f, deep %.4f", window, f1(stumps), f1(garbage), f1(deep))
	if !(f1(garbage) < f1(stumps) && f1(stumps) < f1(deep)) {
		t.Fatalf("synthetic setup broken: want garbage < stumps < deep, got %.4f, %.4f, %.4f", f1(garbage), f1(stumps), f1(deep))
	}

	var runStumps *tracking.Run
	t.Run("log run", func(t *testing.T) {
		runStumps = logRun(t, tr, stumps)
		got, err := c.Runs.Get(ctx, runStumps.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Info.Status != mlflowclient.RunFinished || got.Info.RunName != "train-stumps" {
			t.Errorf("run info = %+v", got.Info)
		}
		wantTags := map[string]string{
			"mlflow.runName": "train-stumps", "mlflow.source.type": "JOB",
			"mlflow.source.git.commit":                 "0123456789abcdef0123456789abcdef01234567",
			"telcotraffic.kind":                        "classifier",
			"telcotraffic.table.flow_features.version": "3", "telcotraffic.table.flows.version": "12",
			"telcotraffic.eval.window": window, "airflow.dag_id": "telco_train",
			"mlflow.note.content": "end-to-end test run train-stumps",
		}
		for k, v := range wantTags {
			if got, _ := got.Data.Tag(k); got != v {
				t.Errorf("tag %s = %q, want %q", k, got, v)
			}
		}
		for _, k := range []string{"mlflow.source.name", "mlflow.user", "mlflow.log-model.history"} {
			if v, ok := got.Data.Tag(k); !ok || v == "" {
				t.Errorf("tag %s missing", k)
			}
		}
		if v, ok := got.Data.Metric("macro_f1"); !ok || v != f1(stumps) {
			t.Errorf("metric macro_f1 = %v, %v; want %v", v, ok, f1(stumps))
		}
		if v, ok := got.Data.Metric("class_recall/video"); !ok || v != stumps.eval.ClassRecall["video"] {
			t.Errorf("metric class_recall/video = %v, %v", v, ok)
		}
		var steps []int64
		for m, err := range c.Runs.MetricHistory(ctx, runStumps.ID, "valid_mlogloss") {
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, m.Step)
		}
		slices.Sort(steps)
		if diff := cmp.Diff([]int64{0, 1, 2}, steps); diff != "" {
			t.Errorf("valid_mlogloss steps (-want +got):\n%s", diff)
		}
		var files []string
		for _, dir := range []string{"model", "model/xgb", "evaluation"} {
			fs, err := c.Artifacts.List(ctx, runStumps.ArtifactURI, dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if !f.IsDir {
					files = append(files, f.Path)
				}
			}
		}
		slices.Sort(files)
		want := []string{"evaluation/confusion_sni.csv", "evaluation/report.json",
			"model/MLmodel", "model/manifest.json", "model/xgb/model.json"}
		if diff := cmp.Diff(want, files); diff != "" {
			t.Errorf("artifacts (-want +got):\n%s", diff)
		}
	})
	if runStumps == nil {
		t.FailNow()
	}

	t.Run("failed and killed runs", func(t *testing.T) {
		for _, tt := range []struct {
			err    error
			status mlflowclient.RunStatus
		}{{errors.New("train: out of memory"), mlflowclient.RunFailed}, {context.Canceled, mlflowclient.RunKilled}} {
			run, err := tr.StartRun(ctx, "", "broken", tracking.RunTags{Kind: tracking.Classifier})
			if err != nil {
				t.Fatal(err)
			}
			if got := run.EndWith(ctx, tt.err); !errors.Is(got, tt.err) {
				t.Errorf("EndWith returned %v, want the task's error %v", got, tt.err)
			}
			r, err := c.Runs.Get(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if msg, _ := r.Data.Tag(tracking.TagError); r.Info.Status != tt.status || msg != tt.err.Error() {
				t.Errorf("run ended %s with %s=%q, want %s and %q", r.Info.Status, tracking.TagError, msg, tt.status, tt.err)
			}
			if _, err := tracking.Register(ctx, c, tracking.RegisterOptions{Name: name, RunID: run.ID}); err == nil ||
				!strings.Contains(err.Error(), "ended "+string(tt.status)) {
				t.Errorf("registering a %s run: %v", tt.status, err)
			}
		}
	})

	register := func(t *testing.T, runID string) *tracking.Registered {
		t.Helper()
		reg, err := tracking.Register(ctx, c, tracking.RegisterOptions{Name: name, RunID: runID, Wait: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}
	promote := func(t *testing.T) (*tracking.Decision, error) {
		t.Helper()
		return tracking.Promote(ctx, c, tracking.PromoteOptions{Name: name, Metric: "macro_f1"})
	}
	aliases := func(t *testing.T) map[string]string {
		t.Helper()
		m, err := c.RegisteredModels.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, a := range m.Aliases {
			out[a.Alias] = a.Version
		}
		return out
	}

	t.Run("register", func(t *testing.T) {
		reg := register(t, runStumps.ID)
		if reg.Version != "1" || reg.Reused || reg.Alias != "challenger" {
			t.Errorf("Register = %+v", reg)
		}
		mv, err := c.ModelVersions.Get(ctx, name, "1")
		if err != nil {
			t.Fatal(err)
		}
		if mv.Status != mlflowclient.VersionReady || mv.RunID != runStumps.ID || mv.Source != runStumps.ArtifactURI+"/model" {
			t.Errorf("version 1 = %+v", mv)
		}
		for k, want := range map[string]string{
			"macro_f1": fmt.Sprint(f1(stumps)), "accuracy": fmt.Sprint(stumps.eval.Scores["accuracy"]),
			"telcotraffic.kind": "classifier", "telcotraffic.eval.window": window,
			"telcotraffic.table.flow_features.version": "3",
		} {
			if got, _ := mv.Tag(k); got != want {
				t.Errorf("version tag %s = %q, want %q", k, got, want)
			}
		}
		again := register(t, runStumps.ID) // an Airflow retry
		if again.Version != "1" || !again.Reused {
			t.Errorf("second Register = %+v, want version 1 reused", again)
		}
		if diff := cmp.Diff(map[string]string{"challenger": "1"}, aliases(t)); diff != "" {
			t.Errorf("aliases (-want +got):\n%s", diff)
		}
	})

	t.Run("first challenger becomes champion", func(t *testing.T) {
		d, err := promote(t)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome != tracking.FirstChampion || !d.Promoted || d.ChampionVersion != "1" || d.ChallengerScore != f1(stumps) || d.Window != window {
			t.Errorf("decision = %+v", d)
		}
		if diff := cmp.Diff(map[string]string{"champion": "1"}, aliases(t)); diff != "" {
			t.Errorf("aliases (-want +got):\n%s", diff)
		}
		if _, err := promote(t); !errors.Is(err, tracking.ErrNoChallenger) {
			t.Errorf("promote without a challenger: %v, want ErrNoChallenger", err)
		}
	})

	t.Run("python loads the champion", func(t *testing.T) {
		rows := make([][]float32, testX.Rows)
		for i := range rows {
			rows[i] = testX.Data[i*4 : i*4+4]
		}
		rowsFile := filepath.Join(t.TempDir(), "rows.json")
		b, _ := json.Marshal(map[string]any{"X": rows})
		if err := os.WriteFile(rowsFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(py, filepath.Join("testdata", "load_model.py"), "models:/"+name+"@champion", rowsFile)
		cmd.Env = srv.Env()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("load_model.py: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var got struct {
			XGBoost       []int          `json:"xgboost"`
			PyFunc        []int          `json:"pyfunc"`
			Type          string         `json:"type"`
			Flavors       []string       `json:"flavors"`
			XGBoostFlavor map[string]any `json:"xgboost_flavor"`
			RunID         string         `json:"run_id"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
			t.Fatalf("load_model.py printed %q: %v", out, err)
		}
		if got.Type != "Booster" || got.RunID != runStumps.ID {
			t.Errorf("loaded a %s of run %s, want a Booster of run %s", got.Type, got.RunID, runStumps.ID)
		}
		if diff := cmp.Diff([]string{"python_function", "telcotraffic", "xgboost"}, got.Flavors); diff != "" {
			t.Errorf("flavors (-want +got):\n%s", diff)
		}
		wantFlavor := map[string]any{"code": nil, "data": "xgb/model.json", "model_class": "xgboost.core.Booster",
			"model_format": "json", "xgb_version": xgb.Version()}
		if diff := cmp.Diff(wantFlavor, got.XGBoostFlavor); diff != "" {
			t.Errorf("xgboost flavor (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(stumps.pred, got.XGBoost); diff != "" {
			t.Errorf("classes, Go vs mlflow.xgboost (-go +python):\n%s", diff)
		}
		if diff := cmp.Diff(stumps.pred, got.PyFunc); diff != "" {
			t.Errorf("classes, Go vs mlflow.pyfunc (-go +python):\n%s", diff)
		}
	})

	t.Run("worse challenger loses", func(t *testing.T) {
		run := logRun(t, tr, garbage)
		if reg := register(t, run.ID); reg.Version != "2" {
			t.Fatalf("registered version %s, want 2", reg.Version)
		}
		d, err := promote(t)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome != tracking.KeptChampion || d.Promoted || d.ChampionVersion != "1" ||
			d.ChampionScore == nil || *d.ChampionScore != f1(stumps) || d.ChallengerScore != f1(garbage) {
			t.Errorf("decision = %+v", d)
		}
		if diff := cmp.Diff(map[string]string{"champion": "1", "challenger": "2"}, aliases(t)); diff != "" {
			t.Errorf("aliases (-want +got):\n%s", diff)
		}
		mv, err := c.ModelVersions.Get(ctx, name, "2")
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Runs.Get(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{
			"telcotraffic.promotion.decision":         "kept_champion",
			"telcotraffic.promotion.champion_version": "1",
			"telcotraffic.promotion.champion_score":   fmt.Sprint(f1(stumps)),
			"telcotraffic.promotion.challenger_score": fmt.Sprint(f1(garbage)),
			"telcotraffic.promotion.window":           window,
		} {
			if got, _ := mv.Tag(k); got != want {
				t.Errorf("version tag %s = %q, want %q", k, got, want)
			}
			if got, _ := r.Data.Tag(k); got != want {
				t.Errorf("run tag %s = %q, want %q", k, got, want)
			}
		}
		if _, err := promote(t); !errors.Is(err, tracking.ErrAlreadyDecided) {
			t.Errorf("second promote: %v, want ErrAlreadyDecided", err)
		}
	})

	var runDeep *tracking.Run
	t.Run("better challenger wins", func(t *testing.T) {
		runDeep = logRun(t, tr, deep)
		if reg := register(t, runDeep.ID); reg.Version != "3" {
			t.Fatalf("registered version %s, want 3", reg.Version)
		}
		d, err := promote(t)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome != tracking.Promoted || !d.Promoted || d.ChampionVersion != "3" || d.PreviousChampion != "1" {
			t.Errorf("decision = %+v", d)
		}
		if diff := cmp.Diff(map[string]string{"champion": "3"}, aliases(t)); diff != "" {
			t.Errorf("aliases (-want +got):\n%s", diff)
		}
		if mv, err := c.ModelVersions.Get(ctx, name, "1"); err != nil {
			t.Fatal(err)
		} else if by, _ := mv.Tag("telcotraffic.promotion.replaced_by"); by != "3" {
			t.Errorf("version 1 replaced_by = %q, want 3", by)
		}
	})

	t.Run("windows must match", func(t *testing.T) {
		const later = "2022-W14"
		x14, y14 := synth(14, 300)
		next := train(t, "train-next", 4, 30, false, later, x14, y14)
		run := logRun(t, tr, next)
		if reg := register(t, run.ID); reg.Version != "4" {
			t.Fatalf("registered version %s, want 4", reg.Version)
		}
		if _, err := promote(t); !errors.Is(err, tracking.ErrWindowMismatch) {
			t.Fatalf("promote across windows: %v, want ErrWindowMismatch", err)
		}
		if diff := cmp.Diff(map[string]string{"champion": "3", "challenger": "4"}, aliases(t)); diff != "" {
			t.Errorf("aliases after a refusal (-want +got):\n%s", diff)
		}
		// Score the champion on the later window too, as the evaluate task
		// would, and attach that evaluation to it.
		p, err := deep.booster.Predict(x14, xgb.PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := score(later, p.ArgMax(), y14)
		rerun, err := tr.StartRun(ctx, "", "evaluate-champion-"+later, tracking.RunTags{Kind: tracking.Classifier})
		if err != nil {
			t.Fatal(err)
		}
		if err := rerun.LogEvaluation(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if err := rerun.End(ctx, mlflowclient.RunFinished); err != nil {
			t.Fatal(err)
		}
		if err := tracking.AttachEvaluation(ctx, c, name, "3", rerun.ID); err != nil {
			t.Fatal(err)
		}
		mv3, err := c.ModelVersions.Get(ctx, name, "3")
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := mv3.Tag(tracking.TagEvalRunID); id != rerun.ID {
			t.Errorf("version 3 %s = %q, want %s", tracking.TagEvalRunID, id, rerun.ID)
		}
		if w, _ := mv3.Tag(tracking.TagEvalWindow); w != later {
			t.Errorf("version 3 window = %q, want %s", w, later)
		}
		if v, stale := mv3.Tag(tracking.MetricLatency); stale {
			t.Errorf("version 3 keeps %s=%s from the old window", tracking.MetricLatency, v)
		}
		d, err := promote(t)
		if err != nil {
			t.Fatal(err)
		}
		if d.Window != later || d.ChampionScore == nil || *d.ChampionScore != ev.Scores["macro_f1"] || d.ChallengerScore != f1(next) {
			t.Errorf("decision = %+v; want window %s, champion %v, challenger %v", d, later, ev.Scores["macro_f1"], f1(next))
		}
		wantChamp := "3"
		if f1(next) > ev.Scores["macro_f1"] {
			wantChamp = "4"
		}
		if d.ChampionVersion != wantChamp || aliases(t)["champion"] != wantChamp {
			t.Errorf("champion %s (alias %s), want %s", d.ChampionVersion, aliases(t)["champion"], wantChamp)
		}
		t.Logf("on %s: %s", later, d)
	})

	t.Run("UI shows runs, metrics and the champion", func(t *testing.T) {
		shots := artifactsDir(t)
		champ := aliases(t)["champion"]
		pages := []struct {
			file, url, size string
			want            []string
		}{
			{"experiment.png", tracking.ExperimentURL(srv.URL, runDeep.ExperimentID), "1400,1000",
				[]string{"telco-e2e", "train-stumps", "train-garbage", "train-deep"}},
			// Tall: charts render only when scrolled into view.
			{"charts.png", tracking.ChartsURL(srv.URL, runDeep.ExperimentID), "1400,2400",
				[]string{"train-deep", "valid_mlogloss", "macro_f1"}},
			{"run.png", runDeep.URL(), "1400,1400",
				[]string{"train-deep", "macro_f1", "valid_mlogloss", "flow_features", name}},
			{"model.png", tracking.ModelURL(srv.URL, name), "1400,1000",
				[]string{name, "Version " + champ, "champion"}},
		}
		for _, p := range pages {
			trackingtest.RenderUntil(ctx, t, chromium, p.url, p.size, p.want, filepath.Join(shots, p.file))
		}
		t.Logf("screenshots in %s", shots)
	})
}
