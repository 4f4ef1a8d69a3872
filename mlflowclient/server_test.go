package mlflowclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/mlflowclient/mlflowtest"
)

// TestRealServer runs the client against a real tracking server: the full
// flow experiment → run → log batch → artifacts → register → READY → aliases
// → search paging, plus Python MLflow loading the registered model.
func TestRealServer(t *testing.T) {
	srv := mlflowtest.Start(t)
	c, err := New(srv.URL, WithTimeout(60*time.Second), WithRetries(2, 100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var exp *Experiment
	t.Run("experiments", func(t *testing.T) {
		_, err := c.Experiments.GetByName(ctx, "svc-clf")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetByName of a new name: %v, want ErrNotFound", err)
		}
		exp, err = c.Experiments.GetOrCreate(ctx, "svc-clf", &ExperimentCreateOptions{Tags: []Tag{{"team", "telco"}}})
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Experiments.GetOrCreate(ctx, "svc-clf", nil)
		if err != nil || again.ID != exp.ID {
			t.Fatalf("second GetOrCreate = %+v, %v; want id %s", again, err, exp.ID)
		}
		_, err = c.Experiments.Create(ctx, "svc-clf", nil)
		var ae *APIError
		if !errors.Is(err, ErrAlreadyExists) || !errors.As(err, &ae) || ae.StatusCode != 400 {
			t.Fatalf("duplicate Create: %v, want ErrAlreadyExists with status 400", err)
		}
		if err := c.Experiments.SetTag(ctx, exp.ID, "owner", "go"); err != nil {
			t.Fatal(err)
		}
		got, err := c.Experiments.Get(ctx, exp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "svc-clf" || got.LifecycleStage != "active" || !strings.HasPrefix(got.ArtifactLocation, "mlflow-artifacts:") {
			t.Errorf("experiment = %+v", got)
		}
		wantTags := map[string]string{"team": "telco", "owner": "go"}
		for _, tag := range got.Tags {
			if v, ok := wantTags[tag.Key]; ok && v == tag.Value {
				delete(wantTags, tag.Key)
			}
		}
		if len(wantTags) > 0 {
			t.Errorf("tags %v missing from %v", wantTags, got.Tags)
		}
		if _, err := c.Experiments.Get(ctx, "987654"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of a missing id: %v, want ErrNotFound", err)
		}

		// A deleted experiment blocks its name.
		id, err := c.Experiments.Create(ctx, "doomed", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Experiments.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Experiments.GetOrCreate(ctx, "doomed", nil); err == nil || !strings.Contains(err.Error(), "is deleted") {
			t.Errorf("GetOrCreate of a deleted name: %v, want an error", err)
		}
		var names []string
		for e, err := range c.Experiments.Search(ctx, &ExperimentSearchOptions{ViewType: AllViews, OrderBy: []string{"name ASC"}, PageSize: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, e.Name)
		}
		if diff := cmp.Diff([]string{"Default", "doomed", "svc-clf"}, names); diff != "" {
			t.Errorf("experiment search (-want +got):\n%s", diff)
		}
	})
	if exp == nil {
		t.Fatal("no experiment")
	}

	var run *Run
	t.Run("runs and log batch", func(t *testing.T) {
		start := time.UnixMilli(time.Now().UnixMilli() - 60_000)
		run, err = c.Runs.Create(ctx, exp.ID, &RunCreateOptions{RunName: "train-1", StartTime: start,
			Tags: []Tag{{"mlflow.source.type", "JOB"}, {"mlflow.source.git.commit", "abc123"}}})
		if err != nil {
			t.Fatal(err)
		}
		if run.Info.Status != RunRunning || run.Info.RunName != "train-1" || run.Info.StartTime != start.UnixMilli() {
			t.Errorf("new run info = %+v", run.Info)
		}
		// 2500 loss points, 150 params and 120 tags need several requests.
		var b Batch
		for step := range 2500 {
			b.Metrics = append(b.Metrics, Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: start.UnixMilli() + int64(step), Step: int64(step)})
		}
		b.Metrics = append(b.Metrics,
			Metric{Key: "odd", Value: math.NaN(), Step: 0},
			Metric{Key: "odd", Value: math.Inf(1), Step: 1},
			Metric{Key: "odd", Value: math.Inf(-1), Step: 2},
			Metric{Key: "f1_macro", Value: 0.875, Step: 10})
		b.Params = params(150, 10)
		b.Tags = tags(120, 10)
		if err := c.Runs.LogBatch(ctx, run.Info.RunID, b); err != nil {
			t.Fatal(err)
		}

		var history []Metric
		for m, err := range c.Runs.MetricHistory(ctx, run.Info.RunID, "loss") {
			if err != nil {
				t.Fatal(err)
			}
			history = append(history, m)
		}
		sort.Slice(history, func(i, j int) bool { return history[i].Step < history[j].Step })
		if diff := cmp.Diff(b.Metrics[:2500], history); diff != "" {
			t.Errorf("loss history (-want +got):\n%s", diff)
		}
		var odd []float64
		for m, err := range c.Runs.MetricHistory(ctx, run.Info.RunID, "odd") {
			if err != nil {
				t.Fatal(err)
			}
			odd = append(odd, m.Value)
		}
		// NaN round-trips; the SQL store keeps ±Inf as ±MaxFloat64.
		if len(odd) != 3 || !math.IsNaN(odd[0]) || odd[1] != math.MaxFloat64 || odd[2] != -math.MaxFloat64 {
			t.Errorf("odd values = %v, want [NaN MaxFloat64 -MaxFloat64]", odd)
		}

		got, err := c.Runs.Get(ctx, run.Info.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got.Data.Metric("loss"); !ok || v != 1.0/2500 {
			t.Errorf("latest loss = %v, %v; want %v", v, ok, 1.0/2500)
		}
		if len(got.Data.Params) != 150 {
			t.Errorf("%d params, want 150", len(got.Data.Params))
		}
		if v, _ := got.Data.Tag("mlflow.source.git.commit"); v != "abc123" {
			t.Errorf("commit tag = %q", v)
		}
		if v, _ := got.Data.Tag("t0119"); v != strings.Repeat("v", 10) {
			t.Errorf("tag t0119 = %q", v)
		}

		// Params are write-once.
		err = c.Runs.LogBatch(ctx, run.Info.RunID, Batch{Params: []Param{{"p0000", "other"}}})
		var ae *APIError
		if !errors.As(err, &ae) || ae.ErrorCode != "INVALID_PARAMETER_VALUE" {
			t.Errorf("changing a param: %v, want INVALID_PARAMETER_VALUE", err)
		}
		if _, err := c.Runs.Get(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of a missing run: %v, want ErrNotFound", err)
		}
	})
	if run == nil {
		t.Fatal("no run")
	}

	t.Run("artifacts", func(t *testing.T) {
		uri, err := c.Artifacts.RunArtifactURI(ctx, run.Info.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if want := "mlflow-artifacts:/" + exp.ID + "/" + run.Info.RunID + "/artifacts"; uri != want {
			t.Errorf("artifact URI = %q, want %q", uri, want)
		}
		big := make([]byte, 3<<20+17) // several of the server's 1 MB chunks
		rand.Read(big)
		files := map[string][]byte{
			"eval/report.json":          []byte(`{"f1_macro":0.875}`),
			"eval/confusion matrix.csv": []byte("a,b\n1,2\n"),
			"eval/odd name;1?.txt":      []byte("ü"),
			"blob.bin":                  big,
			"empty.txt":                 {},
		}
		for name, data := range files {
			if err := c.Artifacts.Upload(ctx, uri, name, bytes.NewReader(data)); err != nil {
				t.Fatalf("upload %s: %v", name, err)
			}
		}
		for name, data := range files {
			var buf bytes.Buffer
			n, err := c.Artifacts.Download(ctx, uri, name, &buf)
			if err != nil {
				t.Fatalf("download %s: %v", name, err)
			}
			if n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
				t.Errorf("download %s: %d bytes, content equal %v; want %d", name, n, bytes.Equal(buf.Bytes(), data), len(data))
			}
		}
		root, err := c.Artifacts.List(ctx, uri, "")
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(root, func(i, j int) bool { return root[i].Path < root[j].Path })
		want := []FileInfo{{Path: "blob.bin", FileSize: int64(len(big))}, {Path: "empty.txt"}, {Path: "eval", IsDir: true}}
		if diff := cmp.Diff(want, root); diff != "" {
			t.Errorf("root listing (-want +got):\n%s", diff)
		}
		evalDir, err := c.Artifacts.List(ctx, uri, "eval")
		if err != nil {
			t.Fatal(err)
		}
		var evalNames []string
		for _, f := range evalDir {
			evalNames = append(evalNames, f.Path)
		}
		slices.Sort(evalNames)
		if diff := cmp.Diff([]string{"eval/confusion matrix.csv", "eval/odd name;1?.txt", "eval/report.json"}, evalNames); diff != "" {
			t.Errorf("eval listing (-want +got):\n%s", diff)
		}
		for _, bad := range []string{"eval/report#2.json", "eval/ünï.txt", "../escape.txt"} {
			if err := c.Artifacts.Upload(ctx, uri, bad, strings.NewReader("{}")); err == nil {
				t.Errorf("upload of %q succeeded, want a client-side error", bad)
			} else if errors.As(err, new(*APIError)) {
				t.Errorf("upload of %q reached the server: %v", bad, err)
			}
		}
		if _, err := c.Artifacts.Download(ctx, uri, "eval/missing.json", &bytes.Buffer{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("download of a missing file: %v, want ErrNotFound", err)
		}
		if files, err := c.Artifacts.List(ctx, uri, "nowhere"); err != nil || len(files) != 0 {
			t.Errorf("listing a missing dir = %v, %v; want empty", files, err)
		}
	})

	t.Run("search paging", func(t *testing.T) {
		id, err := c.Experiments.Create(ctx, "paging", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 7 {
			r, err := c.Runs.Create(ctx, id, &RunCreateOptions{RunName: fmt.Sprintf("r%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Runs.LogBatch(ctx, r.Info.RunID, Batch{Metrics: []Metric{{Key: "score", Value: float64(i)}}}); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if _, err := c.Runs.SetTerminated(ctx, r.Info.RunID, RunFinished); err != nil {
					t.Fatal(err)
				}
			}
		}
		var names []string
		for r, err := range c.Runs.Search(ctx, &RunSearchOptions{ExperimentIDs: []string{id}, OrderBy: []string{"metrics.score DESC"}, PageSize: 3}) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, r.Info.RunName)
		}
		if diff := cmp.Diff([]string{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}, names); diff != "" {
			t.Errorf("paged search (-want +got):\n%s", diff)
		}
		names = nil
		for r, err := range c.Runs.Search(ctx, &RunSearchOptions{ExperimentIDs: []string{id},
			Filter: "metrics.score >= 2 and attributes.status = 'FINISHED'", OrderBy: []string{"attributes.run_name ASC"}, PageSize: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.EndTime == 0 {
				t.Errorf("finished run %s has no end time", r.Info.RunName)
			}
			names = append(names, r.Info.RunName)
		}
		if diff := cmp.Diff([]string{"r2", "r4", "r6"}, names); diff != "" {
			t.Errorf("filtered search (-want +got):\n%s", diff)
		}
		for _, err := range c.Runs.Search(ctx, &RunSearchOptions{ExperimentIDs: []string{id}, Filter: "metrics.score >>> 1"}) {
			var ae *APIError
			if !errors.As(err, &ae) || ae.ErrorCode != "INVALID_PARAMETER_VALUE" {
				t.Errorf("bad filter: %v, want INVALID_PARAMETER_VALUE", err)
			}
		}
	})

	t.Run("registry", func(t *testing.T) {
		const name = "svc-clf"
		m, err := c.RegisteredModels.Create(ctx, name, &RegisteredModelCreateOptions{Description: "first", Tags: []Tag{{"task", "classification"}}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != name || m.Description != "first" {
			t.Errorf("created model = %+v", m)
		}
		if _, err := c.RegisteredModels.Create(ctx, name, nil); !errors.Is(err, ErrAlreadyExists) {
			t.Errorf("duplicate model: %v, want ErrAlreadyExists", err)
		}
		if _, err := c.RegisteredModels.GetOrCreate(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RegisteredModels.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing model: %v, want ErrNotFound", err)
		}
		if m, err = c.RegisteredModels.Update(ctx, name, "second"); err != nil || m.Description != "second" {
			t.Errorf("Update = %+v, %v", m, err)
		}
		if err := c.RegisteredModels.SetTag(ctx, name, "owner", "go"); err != nil {
			t.Fatal(err)
		}
		if err := c.RegisteredModels.DeleteTag(ctx, name, "task"); err != nil {
			t.Fatal(err)
		}

		var versions []*ModelVersion
		for i := range 2 {
			v, err := c.ModelVersions.CreateFromRun(ctx, name, run.Info.RunID, "eval", &ModelVersionCreateOptions{
				Description: fmt.Sprintf("v%d", i+1), Tags: []Tag{{"f1_macro", "0.875"}}})
			if err != nil {
				t.Fatal(err)
			}
			if v, err = c.ModelVersions.WaitReady(ctx, name, v.Version, 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			versions = append(versions, v)
		}
		if versions[0].Version != "1" || versions[1].Version != "2" || versions[1].Status != VersionReady ||
			versions[1].Source != run.Info.ArtifactURI+"/eval" || versions[1].RunID != run.Info.RunID {
			t.Errorf("versions = %+v, %+v", versions[0], versions[1])
		}
		if err := c.ModelVersions.SetTag(ctx, name, "2", "validation_status", "passed"); err != nil {
			t.Fatal(err)
		}
		v2, err := c.ModelVersions.Get(ctx, name, "2")
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := v2.Tag("validation_status"); s != "passed" {
			t.Errorf("version tags = %v", v2.Tags)
		}
		if _, err := c.ModelVersions.Get(ctx, name, "99"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing version: %v, want ErrNotFound", err)
		}
		if uri, err := c.ModelVersions.DownloadURI(ctx, name, "2"); err != nil || uri != versions[1].Source {
			t.Errorf("DownloadURI = %q, %v; want %q", uri, err, versions[1].Source)
		}

		// Aliases: set, move, read, delete.
		if _, err := c.RegisteredModels.GetVersionByAlias(ctx, name, "champion"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unset alias: %v, want ErrNotFound", err)
		}
		if err := c.RegisteredModels.SetAlias(ctx, name, "champion", "1"); err != nil {
			t.Fatal(err)
		}
		if err := c.RegisteredModels.SetAlias(ctx, name, "challenger", "2"); err != nil {
			t.Fatal(err)
		}
		if err := c.RegisteredModels.SetAlias(ctx, name, "champion", "2"); err != nil { // move
			t.Fatal(err)
		}
		champ, err := c.RegisteredModels.GetVersionByAlias(ctx, name, "champion")
		if err != nil {
			t.Fatal(err)
		}
		if champ.Version != "2" || !slices.Contains(champ.Aliases, "champion") || !slices.Contains(champ.Aliases, "challenger") {
			t.Errorf("champion = version %s with aliases %v", champ.Version, champ.Aliases)
		}
		if err := c.RegisteredModels.DeleteAlias(ctx, name, "challenger"); err != nil {
			t.Fatal(err)
		}
		if err := c.RegisteredModels.DeleteAlias(ctx, name, "challenger"); err != nil {
			t.Errorf("deleting a missing alias: %v, want success", err)
		}
		m, err = c.RegisteredModels.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Alias{{"champion", "2"}}, m.Aliases); diff != "" {
			t.Errorf("aliases (-want +got):\n%s", diff)
		}
		if v, ok := m.AliasVersion("champion"); !ok || v != "2" {
			t.Errorf("AliasVersion = %q, %v", v, ok)
		}
		if diff := cmp.Diff([]Tag{{"owner", "go"}}, m.Tags); diff != "" {
			t.Errorf("model tags (-want +got):\n%s", diff)
		}

		var found []string
		for v, err := range c.ModelVersions.Search(ctx, &ModelVersionSearchOptions{Filter: "name = 'svc-clf'", OrderBy: []string{"version_number DESC"}, PageSize: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, v.Version)
		}
		if diff := cmp.Diff([]string{"2", "1"}, found); diff != "" {
			t.Errorf("version search (-want +got):\n%s", diff)
		}
		for i := range 4 {
			if _, err := c.RegisteredModels.Create(ctx, fmt.Sprintf("fc-%d", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		var models []string
		for m, err := range c.RegisteredModels.Search(ctx, &RegisteredModelSearchOptions{Filter: "name LIKE 'fc-%'", OrderBy: []string{"name DESC"}, PageSize: 3}) {
			if err != nil {
				t.Fatal(err)
			}
			models = append(models, m.Name)
		}
		if diff := cmp.Diff([]string{"fc-3", "fc-2", "fc-1", "fc-0"}, models); diff != "" {
			t.Errorf("model search (-want +got):\n%s", diff)
		}
		if err := c.RegisteredModels.Delete(ctx, "fc-0"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RegisteredModels.Get(ctx, "fc-0"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted model: %v, want ErrNotFound", err)
		}
	})

	t.Run("python loads the registered xgboost model", func(t *testing.T) {
		testPythonLoadsModel(t, c, srv, exp.ID)
	})

	t.Run("run finished", func(t *testing.T) {
		info, err := c.Runs.SetTerminated(ctx, run.Info.RunID, RunFinished)
		if err != nil {
			t.Fatal(err)
		}
		if info.Status != RunFinished || info.EndTime < info.StartTime {
			t.Errorf("run info after SetTerminated = %+v", info)
		}
	})
	// A stalled server (SIGSTOP): a call with the default options rides out
	// 10 s of it; one that stays stalled fails with a timeout within the
	// bound its options give (the default bound is under 2 minutes).
	t.Run("stalled server", func(t *testing.T) {
		if b := GiveUpBound(); b > 2*time.Minute {
			t.Errorf("default options give up after %v, want at most 2 min", b)
		}
		def, err := New(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		srv.Freeze()
		thawed := make(chan struct{})
		time.AfterFunc(10*time.Second, func() { srv.Thaw(); close(thawed) })
		t0 := time.Now()
		_, err = def.Experiments.GetByName(ctx, "svc-clf")
		<-thawed
		if err != nil {
			t.Fatalf("call during a 10 s stall: %v", err)
		}
		t.Logf("call during a 10 s stall succeeded after %.1f s", time.Since(t0).Seconds())

		short, err := New(srv.URL, WithTimeout(time.Second), WithRetries(2, time.Second, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		srv.Freeze()
		defer srv.Thaw()
		t0 = time.Now()
		_, err = short.Experiments.GetByName(ctx, "svc-clf")
		took := time.Since(t0)
		if err == nil || !strings.Contains(err.Error(), "experiments/get-by-name") || !strings.Contains(err.Error(), "Timeout") {
			t.Errorf("call to a stalled server: %v; want a timeout naming the route", err)
		}
		if took > 3*time.Second+2*time.Second+3*time.Second {
			t.Errorf("gave up after %v; 3 attempts of 1 s and 2 waits of 1 s allow 5 s", took)
		}
		t.Logf("gave up after %.1f s: %v", took.Seconds(), err)
	})
}

const trainXGB = `
import json, sys
import numpy as np, xgboost as xgb
out = sys.argv[1]
rng = np.random.default_rng(7)
X = rng.normal(size=(80, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3},
                    xgb.DMatrix(X, label=y), num_boost_round=8)
booster.save_model(out + "/model/model.ubj")
pred = booster.predict(xgb.DMatrix(X)).argmax(axis=1)
json.dump({"X": X.tolist(), "classes": pred.tolist(), "xgb_version": xgb.__version__}, open(out + "/rows.json", "w"))
`

const loadXGB = `
import json, sys
import numpy as np, pandas as pd, xgboost as xgb
import mlflow.xgboost, mlflow.pyfunc
rows = json.load(open(sys.argv[1]))
X = np.array(rows["X"])
uri = sys.argv[2]
booster = mlflow.xgboost.load_model(uri)
classes = booster.predict(xgb.DMatrix(X)).argmax(axis=1).tolist()
pyfunc = mlflow.pyfunc.load_model(uri)
pf = np.asarray(pyfunc.predict(pd.DataFrame(X))).argmax(axis=1).tolist()
print(json.dumps({"xgboost": classes, "pyfunc": pf, "type": type(booster).__name__}))
`

// testPythonLoadsModel trains a tiny booster in Python (standing in for the
// Go trainer's libxgboost output), logs it with an MLmodel written by this
// package, registers it, sets champion and checks that
// mlflow.xgboost.load_model("models:/<name>@champion") predicts the same
// classes.
func testPythonLoadsModel(t *testing.T, c *Client, srv *mlflowtest.Server, expID string) {
	py := mlflowtest.Peer(t, "TELCO_PYTHON")
	ctx := context.Background()
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := srv.Env()
	python := func(script string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
		cmd.Env, cmd.Dir = env, work
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, stderr.String())
		}
		return out
	}
	python(trainXGB, work)
	var rows struct {
		Classes    []int  `json:"classes"`
		XGBVersion string `json:"xgb_version"`
	}
	raw, err := os.ReadFile(filepath.Join(work, "rows.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}

	run, err := c.Runs.Create(ctx, expID, &RunCreateOptions{RunName: "interop"})
	if err != nil {
		t.Fatal(err)
	}
	mlm := &MLmodel{
		ArtifactPath: "model", RunID: run.Info.RunID, MLflowVersion: "3.7.0",
		XGBoost: &XGBoostFlavor{XGBVersion: rows.XGBVersion, Data: "model.ubj"},
		PyFunc:  true,
		Flavors: []Flavor{{Name: TelcoTrafficFlavor, Fields: []Field{{"format", "tt-bundle-v1"}, {"members", []string{"xgboost"}}}}},
	}
	doc, err := mlm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "model", MLmodelFileName), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := c.Artifacts.UploadDir(ctx, run.Info.ArtifactURI, "model", filepath.Join(work, "model"))
	if err != nil || n != 2 {
		t.Fatalf("UploadDir = %d, %v", n, err)
	}
	js, err := mlm.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Runs.LogModel(ctx, run.Info.RunID, js); err != nil {
		t.Fatal(err)
	}
	got, err := c.Runs.Get(ctx, run.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := got.Data.Tag("mlflow.log-model.history"); !strings.Contains(h, `"xgboost"`) {
		t.Errorf("mlflow.log-model.history = %q, want the xgboost flavor", h)
	}

	const name = "svc-clf-xgb"
	if _, err := c.RegisteredModels.GetOrCreate(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	v, err := c.ModelVersions.CreateFromRun(ctx, name, run.Info.RunID, "model", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModelVersions.WaitReady(ctx, name, v.Version, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisteredModels.SetAlias(ctx, name, "champion", v.Version); err != nil {
		t.Fatal(err)
	}

	var loaded struct {
		XGBoost []int  `json:"xgboost"`
		PyFunc  []int  `json:"pyfunc"`
		Type    string `json:"type"`
	}
	out := python(loadXGB, filepath.Join(work, "rows.json"), "models:/"+name+"@champion")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &loaded); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	if loaded.Type != "Booster" {
		t.Errorf("mlflow.xgboost.load_model gave a %s, want Booster", loaded.Type)
	}
	if diff := cmp.Diff(rows.Classes, loaded.XGBoost); diff != "" {
		t.Errorf("classes via mlflow.xgboost (-trained +loaded):\n%s", diff)
	}
	if diff := cmp.Diff(rows.Classes, loaded.PyFunc); diff != "" {
		t.Errorf("classes via mlflow.pyfunc (-trained +loaded):\n%s", diff)
	}
}
