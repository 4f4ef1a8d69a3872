// Package replay replays generated weeks of traffic through the real
// Airflow (`make replay`): it generates the raw days, starts the stack
// (PostgreSQL, MLflow, Airflow's scheduler, dag-processor and api-server
// with the LocalExecutor; see Stack), lets Airflow's scheduler run the DAGs
// of dags/ over the days' logical dates with catchup (TT_REPLAY_START/END),
// waits until every run ended, checks them, measures the frozen model
// against the loop week by week (Measure) into the replay_weekly Delta
// table and returns a Summary.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// The DAGs a replay runs (telco_synth and telco_vacuum stay paused).
var DAGs = []string{"telco_ingest", "telco_drift", "telco_train", "telco_forecast"}

// Config is one replay.
type Config struct {
	Dir         string // replay folder: raw/, lake/, models/, reports/, stack logs (created)
	Repo        string // module root (dags/, .venv-airflow, bin/)
	Bin         string // task binaries (generate, pipeline, train, …)
	MLflow      string // the mlflow executable
	PGBin       string // folder with initdb and postgres
	Psql        string
	Start       string // first day, a Monday (YYYY-MM-DD)
	Weeks       int
	FlowsPerDay int
	Seed        int64
	TrainWindow string // TT_TRAIN_WINDOW: train,val,test weeks
	// TrainArgs, DriftArgs and ForecastArgs are extra flags of the train,
	// driftcheck and forecast tasks (TT_ARGS_TRAIN, TT_ARGS_DRIFTCHECK,
	// TT_ARGS_FORECAST; see DefaultTrainArgs).
	TrainArgs, DriftArgs, ForecastArgs string
	// HeavySlots is the size of the telco_heavy pool (0: infra/airflow/pools.json's).
	HeavySlots int
	// AlertsURL is the webhook of the connection telco_alerts (failure
	// notifications, missed deadlines); empty: no connection.
	AlertsURL string
	// Deadline, when set, replaces the DAGs' deadlines (TT_DEADLINE; a
	// test makes the scheduler miss them).
	Deadline  time.Duration
	Timeout   time.Duration // for the DAG runs
	Executors int
	Progress  io.Writer
	// Keep leaves the stack running after Run (the test opens the UI);
	// the caller then stops Result.Stack.
	Keep bool
}

// A replay's settings, sized for its small days (≈1000 flows a day on a
// shared 2-core machine) instead of production's:
//
//   - DefaultTrainArgs: fewer, larger boosting steps and fewer epochs of the
//     sequence net. With the production defaults (400 rounds at eta 0.1,
//     10 epochs) one train task took 130 s of the quarter's one-slot pool
//     and a dozen of them set the replay's pace; eta 0.3 reaches the same
//     validation loss in about a third of the rounds; 30,000 training
//     rows keep a train task's time that of the former 2-week window now
//     that the replay trains on 4 weeks (TrainWindow 4,1,1) with
//     telco_train's held-out rows: validation and test are flows held out
//     of the newest training weeks, so a Monday's model learns from the
//     week that just ended. With weeks after the training window (2
//     train, 1 validation, 1 test) the loop learned a change two weeks
//     late: the week-10 exporter update first reached a champion's
//     training data in week 13, and the loop beat the frozen model by
//     3.7 points over weeks 10–13.
//   - DefaultDriftArgs: a retrain is asked for only when many apps drift at
//     once or the whole day does, at most once a week per reference. At
//     1000 flows a day a few apps show a per-app feature shift nearly
//     every day (the generator drifts some app in almost every week), and
//     every one started a forced retrain that learned from the same
//     complete weeks as the weekly one.
//   - DefaultForecastArgs: a one-week backtest instead of four. The daily
//     forecast was the replay's largest task time (57 runs, 1,586 s of
//     5,329 s in the quarter of session 5) and lagged the ingest; one week
//     still gives the MASE and peak figures promote and the report use, at
//     about half the time (65 → 29 s on one replay day, beside other jobs).
//   - DefaultHeavySlots: two slots, so a train does not hold the day's
//     short Beam jobs and scoring for its whole length.
const (
	DefaultTrainArgs    = "--xgb-rounds=100 --xgb-eta=0.3 --xgb-early-stop=10 --net-epochs=4 --max-train-rows=30000"
	DefaultDriftArgs    = "--retrain-min-apps=8 --retrain-cooldown=7"
	DefaultForecastArgs = "--backtest-weeks=1"
	DefaultHeavySlots   = 2
)

// Summary is what `make replay` prints (keys in a fixed order).
type Summary struct {
	Weeks               int     `json:"weeks"`
	Days                int     `json:"days"`
	DAGRuns             int     `json:"dag_runs"`
	DAGRunsFailed       int     `json:"dag_runs_failed"`
	DAGRunsUnfinished   int     `json:"dag_runs_unfinished"` // still queued or running at the timeout
	Complete            bool    `json:"complete"`            // every expected run ended before the timeout
	Retrains            int64   `json:"retrains"`
	DriftRetrains       int64   `json:"drift_retrains"`
	Promotions          int64   `json:"promotions"`
	FalseRetrains       int64   `json:"false_retrains"`
	FalseRetrainsGlobal int64   `json:"false_retrains_global"`
	FrozenMacroF1       float64 `json:"frozen_macro_f1_no_sni"` // mean over the weeks from AfterWeek
	LoopMacroF1         float64 `json:"loop_macro_f1_no_sni"`
	AfterWeek           string  `json:"after_week"`
	RowsRaw             int64   `json:"rows_raw"`
	RowsFlows           int64   `json:"rows_flows"`
	RowsRejects         int64   `json:"rows_rejects"`
	PromotionsTagged    int64   `json:"promotions_with_delta_versions"`
	Seconds             float64 `json:"seconds"`
	// TaskSeconds is the sum of the task instances' durations (Airflow's
	// metadata DB), sensors included; wall time and this vary from run to
	// run and are not in Lines.
	TaskSeconds float64 `json:"task_seconds"`
}

// Lines is the stable summary: one "key: value" line per field.
func (s Summary) Lines() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	var b strings.Builder
	for _, kv := range [][2]string{
		{"weeks", strconv.Itoa(s.Weeks)}, {"days", strconv.Itoa(s.Days)}, {"complete", strconv.FormatBool(s.Complete)},
		{"dag_runs", strconv.Itoa(s.DAGRuns)}, {"dag_runs_failed", strconv.Itoa(s.DAGRunsFailed)},
		{"dag_runs_unfinished", strconv.Itoa(s.DAGRunsUnfinished)},
		{"retrains", strconv.FormatInt(s.Retrains, 10)}, {"drift_retrains", strconv.FormatInt(s.DriftRetrains, 10)},
		{"promotions", strconv.FormatInt(s.Promotions, 10)},
		{"promotions_with_delta_versions", strconv.FormatInt(s.PromotionsTagged, 10)},
		{"after_week", s.AfterWeek},
		{"frozen_macro_f1_no_sni", f(s.FrozenMacroF1)}, {"loop_macro_f1_no_sni", f(s.LoopMacroF1)},
		{"false_retrains", strconv.FormatInt(s.FalseRetrains, 10)},
		{"false_retrains_global", strconv.FormatInt(s.FalseRetrainsGlobal, 10)},
		{"rows_raw", strconv.FormatInt(s.RowsRaw, 10)}, {"rows_flows", strconv.FormatInt(s.RowsFlows, 10)},
		{"rows_rejects", strconv.FormatInt(s.RowsRejects, 10)},
	} {
		fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
	}
	return b.String()
}

// Result is a finished replay.
type Result struct {
	Summary Summary
	Weeks   []tablerow.ReplayWeek
	Runs    []DAGRun
	Stack   *Stack // running when Config.Keep
	Lake    string
	Report  string // the final report page
}

// DAGRun is one Airflow DAG run at the end.
type DAGRun struct {
	DAG, RunID, State, Type string
	Logical                 string
}

func (c Config) lake() string    { return filepath.Join(c.Dir, "lake") }
func (c Config) raw() string     { return filepath.Join(c.Dir, "raw") }
func (c Config) models() string  { return filepath.Join(c.Dir, "models") }
func (c Config) reports() string { return filepath.Join(c.Dir, "reports") }

// Run replays c.Weeks weeks from c.Start.
func Run(ctx context.Context, c Config) (res *Result, err error) {
	t0 := time.Now()
	out := c.Progress
	if out == nil {
		out = io.Discard
	}
	start, err := time.Parse(time.DateOnly, c.Start)
	if err != nil || start.Weekday() != time.Monday {
		return nil, fmt.Errorf("replay: --start %q: want a Monday (YYYY-MM-DD)", c.Start)
	}
	days := 7 * c.Weeks
	last := start.AddDate(0, 0, days-1)
	if err := os.RemoveAll(c.Dir); err != nil {
		return nil, err
	}
	for _, d := range []string{c.raw(), c.lake(), c.models(), c.reports()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(out, "replay: generating %d days from %s, %d flows/day\n", days, c.Start, c.FlowsPerDay)
	gen := exec.CommandContext(ctx, filepath.Join(c.Bin, "generate"), "--out", c.raw(), "--start", c.Start,
		"--days", strconv.Itoa(days), "--flows-per-day", strconv.Itoa(c.FlowsPerDay), "--seed", strconv.FormatInt(c.Seed, 10), "--compress", "gz")
	gen.Stderr = out
	b, err := gen.Output()
	if err != nil {
		return nil, fmt.Errorf("replay: generate: %w", err)
	}
	var g struct {
		Rows int64 `json:"rows"`
	}
	if err := json.Unmarshal(lastLine(b), &g); err != nil {
		return nil, fmt.Errorf("replay: generate result: %w", err)
	}

	env := map[string]string{
		"TT_ARGS_TRAIN": c.TrainArgs, "TT_ARGS_DRIFTCHECK": c.DriftArgs, "TT_ARGS_FORECAST": c.ForecastArgs,
		"TT_BIN_DIR": c.Bin, "TT_LAKE": c.lake(), "TT_RAW": c.raw(), "TT_MODELS": c.models(), "TT_REPORTS": c.reports(),
		"TT_REPLAY_START": c.Start, "TT_REPLAY_END": last.Format(time.DateOnly),
		"TT_TRAIN_WINDOW": c.TrainWindow, "TT_SENSOR_POKE": "10",
	}
	if c.AlertsURL != "" {
		conn, err := json.Marshal(map[string]string{"conn_type": "http", "host": c.AlertsURL})
		if err != nil {
			return nil, err
		}
		env["AIRFLOW_CONN_TELCO_ALERTS"] = string(conn)
	}
	if c.Deadline > 0 {
		env["TT_DEADLINE"] = strconv.FormatFloat(c.Deadline.Seconds(), 'f', -1, 64)
	}
	st, err := StartStack(ctx, StackConfig{
		Dir: filepath.Join(c.Dir, "stack"), Repo: c.Repo, MLflow: c.MLflow, PGBin: c.PGBin, Psql: c.Psql,
		Progress: out, Executors: c.Executors, HeavySlots: c.HeavySlots,
		DAGEnv: env,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil || !c.Keep {
			st.Stop()
		}
	}()
	if err := waitParsed(ctx, st, c.Psql, 10*time.Minute); err != nil {
		return nil, err
	}
	if _, err := st.Airflow(ctx, c.Repo, "dags", "unpause", "-y", "--treat-dag-id-as-regex", "^("+strings.Join(DAGs, "|")+")$"); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "replay: unpaused %s; Airflow's scheduler runs %s … %s (catchup)\n", strings.Join(DAGs, ", "), c.Start, last.Format(time.DateOnly))
	runs, err := waitRuns(ctx, st, c, days, mondays(start, days), out)
	complete := err == nil
	if errors.Is(err, errTimeout) {
		// Measure what ran: a partial replay is reported as such.
		fmt.Fprintf(out, "%v: measuring the runs that ended\n", err)
		runs, err = listRuns(ctx, st, c.Psql)
	}
	if err != nil {
		return nil, err
	}
	res = &Result{Runs: runs, Lake: c.lake()}
	if c.Keep {
		res.Stack = st
	}
	s := &res.Summary
	s.Weeks, s.Days, s.RowsRaw, s.Complete = c.Weeks, days, g.Rows, complete
	for _, r := range runs {
		s.DAGRuns++
		switch r.State {
		case "success":
		case "failed":
			s.DAGRunsFailed++
		default:
			s.DAGRunsUnfinished++
		}
	}
	if s.TaskSeconds, err = taskTimes(ctx, st, c.Psql, out); err != nil {
		return res, err
	}
	if s.RowsFlows, s.RowsRejects, err = countRows(ctx, c.lake()); err != nil {
		return res, err
	}
	m, err := Measure(ctx, MeasureConfig{Lake: c.lake(), Raw: c.raw(), MLflowURI: st.MLflowURI, Progress: out})
	if err != nil {
		return res, err
	}
	res.Weeks = m.Weeks
	s.Retrains, s.DriftRetrains, s.Promotions, s.FalseRetrains = m.Retrains, m.DriftRetrains, m.Promotions, m.FalseRetrains
	s.FalseRetrainsGlobal = m.FalseRetrainsGlobal
	s.PromotionsTagged, s.AfterWeek, s.FrozenMacroF1, s.LoopMacroF1 = m.PromotionsTagged, m.AfterWeek, m.FrozenAfter, m.LoopAfter
	if err := WriteWeeks(ctx, c.lake(), m.Weeks); err != nil {
		return res, err
	}
	res.Report = filepath.Join(c.reports(), "replay", "report.html")
	rep := exec.CommandContext(ctx, filepath.Join(c.Bin, "report"), "--lake", c.lake(), "--out", res.Report,
		"--model-name", "telco-service-classifier", "--forecast-experiment", "telco-traffic-forecast")
	rep.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+st.MLflowURI)
	rep.Stderr = out
	if _, err := rep.Output(); err != nil {
		return res, fmt.Errorf("replay: report: %w", err)
	}
	s.Seconds = time.Since(t0).Seconds()
	return res, nil
}

func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(lines[len(lines)-1])
}

// mondays counts the scheduled telco_train runs: Mondays after the first
// day, up to the Monday after the last day.
func mondays(start time.Time, days int) int {
	n := 0
	for d := 1; d <= days; d++ {
		if start.AddDate(0, 0, d).Weekday() == time.Monday {
			n++
		}
	}
	return n
}

// waitParsed waits until the dag-processor serialized the replay's DAGs.
func waitParsed(ctx context.Context, st *Stack, psql string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		rows, err := st.Query(ctx, psql, "select dag_id from serialized_dag")
		if err == nil {
			have := map[string]bool{}
			for _, r := range rows {
				have[r[0]] = true
			}
			missing := 0
			for _, d := range DAGs {
				if !have[d] {
					missing++
				}
			}
			if missing == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			rows, _ := st.Query(ctx, psql, "select fileloc, stacktrace from import_error")
			return fmt.Errorf("replay: the dag-processor did not serialize %v in %v (import errors: %v; last query error %v)", DAGs, timeout, rows, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

// waitRuns polls the metadata DB until ingest has a finished run per day,
// train one per Monday, and nothing is queued, running or waiting on an
// asset event (twice in a row); it returns every DAG run. telco_drift and
// telco_forecast run on asset events (a day whose score ran, traffic_hourly),
// so an empty asset queue is what says they all ran.
func waitRuns(ctx context.Context, st *Stack, c Config, days, trains int, out io.Writer) ([]DAGRun, error) {
	deadline := time.Now().Add(c.Timeout)
	want := map[string]int{"telco_ingest": days, "telco_train": trains}
	quiet, lastLine := 0, ""
	for {
		rows, err := st.Query(ctx, c.Psql, "select dag_id, state, count(*) from dag_run group by dag_id, state order by dag_id, state")
		if err != nil {
			return nil, err
		}
		done := map[string]int{}
		active := 0
		var parts []string
		for _, r := range rows {
			n, _ := strconv.Atoi(r[2])
			switch r[1] {
			case "success", "failed":
				done[r[0]] += n
			default:
				active += n
			}
			parts = append(parts, fmt.Sprintf("%s=%s:%d", strings.TrimPrefix(r[0], "telco_"), r[1], n))
		}
		queued, err := st.Query(ctx, c.Psql, "select count(*) from asset_dag_run_queue")
		if err != nil {
			return nil, err
		}
		pending, _ := strconv.Atoi(queued[0][0])
		complete := active == 0 && pending == 0
		for d, n := range want {
			if done[d] < n {
				complete = false
			}
		}
		if line := strings.Join(parts, " "); line != lastLine {
			fmt.Fprintf(out, "replay: %s %s (asset queue %d)\n", time.Now().UTC().Format("15:04:05"), line, pending)
			lastLine = line
		}
		if complete {
			quiet++
		} else {
			quiet = 0
		}
		if quiet >= 2 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w after %v: %s", errTimeout, c.Timeout, lastLine)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(15 * time.Second):
		}
	}
	return listRuns(ctx, st, c.Psql)
}

// taskTimes prints where the replay's time went, per DAG and task (task
// instances, their total and longest duration, by state), and returns the
// sum of all task durations.
func taskTimes(ctx context.Context, st *Stack, psql string, out io.Writer) (float64, error) {
	rows, err := st.Query(ctx, psql, "select dag_id, task_id, state, count(*), round(sum(duration)::numeric, 1), round(max(duration)::numeric, 1) "+
		"from task_instance where duration is not null group by dag_id, task_id, state order by sum(duration) desc")
	if err != nil {
		return 0, err
	}
	var total float64
	fmt.Fprintf(out, "replay: task time (dag task state: instances, total s, longest s)\n")
	for _, r := range rows {
		v, _ := strconv.ParseFloat(r[4], 64)
		total += v
		fmt.Fprintf(out, "replay:   %s %s %s: %s, %s s, %s s\n", r[0], r[1], r[2], r[3], r[4], r[5])
	}
	fmt.Fprintf(out, "replay: task time in all %.0f s\n", total)
	return total, nil
}

// listRuns returns every DAG run of the metadata DB.
func listRuns(ctx context.Context, st *Stack, psql string) ([]DAGRun, error) {
	rows, err := st.Query(ctx, psql, "select dag_id, run_id, state, run_type, coalesce(to_char(logical_date at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI'), '') from dag_run order by dag_id, id")
	if err != nil {
		return nil, err
	}
	var runs []DAGRun
	for _, r := range rows {
		runs = append(runs, DAGRun{DAG: r[0], RunID: r[1], State: r[2], Type: r[3], Logical: r[4]})
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].DAG < runs[j].DAG })
	return runs, nil
}
