package replay

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
)

// binaries builds the task binaries the DAGs run into one folder.
func binaries(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	pkgs := []string{"./beam/cmd/pipeline"}
	for _, n := range []string{"generate", "train", "evaluate", "register", "promote", "score", "driftcheck", "forecast", "report"} {
		pkgs = append(pkgs, "./tasks/"+n)
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func postgres(t *testing.T) (bin, psql string) {
	t.Helper()
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		t.Fatal("no initdb on PATH: Airflow's metadata DB needs PostgreSQL (apt-get install postgresql)")
	}
	if initdb, err = filepath.EvalSymlinks(initdb); err != nil {
		t.Fatal(err)
	}
	if psql, err = exec.LookPath("psql"); err != nil {
		t.Fatal("no psql on PATH (apt-get install postgresql-client)")
	}
	return filepath.Dir(initdb), psql
}

// TestReplayTwoWeeks is `make replay` on two weeks: Airflow's own scheduler
// runs telco_ingest, telco_drift, telco_train and telco_forecast over the
// days (catchup); every DAG run succeeds, no task fails, the flows table
// holds each raw flow once, and Airflow's UI (the api-server, in headless
// Chromium) shows each DAG's runs in its grid (screenshots under
// $TELCO_TEST_ARTIFACTS/replay). Its deadlines are cut to a second, so
// the scheduler misses them and the triggerer posts each miss to the
// webhook of connection telco_alerts, a listener of the test.
func TestReplayTwoWeeks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, MLflow and Airflow: not with -short")
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".venv-airflow", "bin", "airflow")); err != nil {
		t.Fatalf("no Airflow venv: run ./.ci/setup (%v)", err)
	}
	pgBin, psql := postgres(t)
	chromium := trackingtest.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	hook := &webhook{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	cfg := Config{
		Dir: t.TempDir(), Repo: root, Bin: binaries(t, root), MLflow: testenv.MLflow(t), PGBin: pgBin, Psql: psql,
		Start: "2022-01-03", Weeks: 2, FlowsPerDay: 300, Seed: 3, TrainWindow: "2,1,1", Timeout: 30 * time.Minute,
		Executors: 3, Progress: testWriter{t}, Keep: true,
		TrainArgs: DefaultTrainArgs, DriftArgs: DefaultDriftArgs, ForecastArgs: DefaultForecastArgs, HeavySlots: DefaultHeavySlots,
		AlertsURL: srv.URL + "/hooks/telco", Deadline: time.Second,
	}
	res, err := Run(ctx, cfg)
	if res != nil && res.Stack != nil {
		defer res.Stack.Stop()
	}
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	t.Logf("summary:\n%s", s.Lines())
	if s.DAGRunsFailed != 0 {
		for _, r := range res.Runs {
			if r.State != "success" {
				t.Errorf("DAG run %s %s: %s", r.DAG, r.RunID, r.State)
			}
		}
	}
	perDAG := map[string]int{}
	for _, r := range res.Runs {
		perDAG[r.DAG]++
	}
	// telco_drift runs on each day's flow_predictions event: one run per
	// ingest whose score ran (none before the first champion).
	scored, err := res.Stack.Query(ctx, psql, "select count(*) from task_instance where dag_id = 'telco_ingest' and task_id = 'score' and state = 'success'")
	if err != nil {
		t.Fatal(err)
	}
	drifts, _ := strconv.Atoi(scored[0][0])
	if perDAG["telco_ingest"] != 14 || perDAG["telco_drift"] != drifts || perDAG["telco_train"] < 2 || perDAG["telco_forecast"] < 1 {
		t.Errorf("DAG runs per DAG %v, want 14 ingest, %d drift (days scored), ≥ 2 train, ≥ 1 forecast", perDAG, drifts)
	}
	rows, err := res.Stack.Query(ctx, psql, "select dag_id, run_id, task_id, state from task_instance where state not in ('success', 'skipped')")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Errorf("task %s", strings.Join(r, " "))
	}
	if s.RowsRaw == 0 || s.RowsFlows+s.RowsRejects != s.RowsRaw {
		t.Errorf("flows %d + rejects %d rows, the raw files have %d: each flow must be in the lake once", s.RowsFlows, s.RowsRejects, s.RowsRaw)
	}
	checkDeadlines(ctx, t, hook, res, psql)

	// Airflow's UI: each DAG's grid lists its runs.
	shots := filepath.Join(artifacts(t), "replay")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dag := range DAGs {
		// The grid's cells (newest 10 runs): one link per task instance,
		// data-testid grid-<run id>-<task id>, holding its state badge.
		tis, err := res.Stack.Query(ctx, psql, "select r.run_id, ti.task_id, ti.state from dag_run r join task_instance ti "+
			"on ti.dag_id = r.dag_id and ti.run_id = r.run_id where r.dag_id = '"+dag+"' order by r.id desc")
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		runs := map[string]bool{}
		for _, ti := range tis {
			if !runs[ti[0]] && len(runs) == 10 {
				break
			}
			runs[ti[0]] = true
			want = append(want, "grid-"+ti[0]+"-"+ti[1])
		}
		shot := filepath.Join(shots, dag+".png")
		p := trackingtest.RenderUntil(ctx, t, chromium, res.Stack.AirflowUI+"/dags/"+dag, "1600,1000", []string{dag}, shot)
		missing := 0
		for _, id := range want {
			cell := regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>\s*<span data-testid="task-state-badge"`)
			if !cell.MatchString(p.DOM) {
				missing++
				if missing <= 3 {
					t.Errorf("%s: the grid has no cell %s with a state badge (screenshot %s)", dag, id, shot)
				}
			}
		}
		t.Logf("%s: the grid shows %d task instances of %d runs with their states (%s)", dag, len(want)-missing, len(runs), shot)
	}
}

func artifacts(t *testing.T) string {
	if d := os.Getenv("TELCO_TEST_ARTIFACTS"); d != "" {
		return d
	}
	return t.TempDir()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// webhook records the JSON messages posted to it.
type webhook struct {
	mu   sync.Mutex
	msgs []map[string]any
	bad  []string
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/hooks/telco" || json.Unmarshal(b, &m) != nil {
		h.bad = append(h.bad, r.Method+" "+r.URL.Path+" "+string(b))
		http.Error(w, "want a JSON POST to /hooks/telco", http.StatusBadRequest)
		return
	}
	h.msgs = append(h.msgs, m)
}

func (h *webhook) messages() ([]map[string]any, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.msgs...), append([]string(nil), h.bad...)
}

// checkDeadlines: with one-second deadlines every telco_ingest and
// telco_train run misses its deadline; the scheduler marks each miss in
// the metadata DB and the triggerer posts it to the webhook, naming the
// deadline, the DAG and the run. No task failed, so no failure message.
func checkDeadlines(ctx context.Context, t *testing.T, hook *webhook, res *Result, psql string) {
	t.Helper()
	missed, err := res.Stack.Query(ctx, psql, "select r.dag_id, r.run_id from deadline d join dag_run r on r.id = d.dagrun_id where d.missed")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range missed {
		want[r[1]] = r[0]
	}
	names := map[string]string{"telco_ingest": "ingest-3h", "telco_train": "train-8h"}
	var got map[string]string
	for end := time.Now().Add(time.Minute); ; {
		msgs, bad := hook.messages()
		if len(bad) > 0 {
			t.Errorf("the webhook got %d bad requests: %q", len(bad), bad[0])
		}
		got = map[string]string{}
		for _, m := range msgs {
			ev, _ := m["event"].(string)
			dag, _ := m["dag_id"].(string)
			run, _ := m["run_id"].(string)
			if ev != "deadline_missed" {
				t.Errorf("webhook message %v: want only deadline_missed (no task failed)", m)
				continue
			}
			if m["deadline"] != names[dag] || !strings.Contains(m["text"].(string), run) {
				t.Errorf("webhook message %v: want deadline %q and its run in the text", m, names[dag])
			}
			got[run] = dag
		}
		if len(got) >= len(want) || time.Now().After(end) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	per := map[string]int{}
	for run, dag := range want {
		if got[run] != dag {
			t.Errorf("%s run %s missed its deadline but the webhook did not hear of it", dag, run)
		}
		per[dag]++
	}
	if per["telco_ingest"] == 0 || per["telco_train"] == 0 {
		t.Errorf("missed deadlines per DAG %v: want telco_ingest and telco_train runs past their one-second deadline", per)
	}
	t.Logf("missed deadlines posted to the webhook: %v", per)
}
