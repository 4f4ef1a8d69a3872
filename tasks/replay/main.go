// Command replay replays generated weeks through the real Airflow (`make
// replay`): generated raw days, PostgreSQL, a real `mlflow server`,
// Airflow's scheduler, dag-processor and api-server (LocalExecutor, the
// DAGs of dags/ in local mode with catchup over the days), then the frozen
// model vs the loop per week (the replay_weekly Delta table, the report) and
// a stable summary on stdout. The work is done by tasks/internal/replay.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
	"github.com/telcotraffic/telcotraffic/tasks/internal/replay"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

func main() {
	var cfg replay.Config
	flag.StringVar(&cfg.Dir, "dir", ".replay", "replay folder (emptied first)")
	flag.StringVar(&cfg.Bin, "bin", "bin", "folder with the task binaries")
	flag.StringVar(&cfg.Start, "start", "2022-01-03", "first day (a Monday)")
	flag.IntVar(&cfg.Weeks, "weeks", 13, "weeks to replay")
	flag.IntVar(&cfg.FlowsPerDay, "flows-per-day", 2000, "generated flows per day")
	flag.Int64Var(&cfg.Seed, "seed", 1, "generator seed")
	flag.StringVar(&cfg.TrainWindow, "train-window", "4,1,1", "telco_train's train,val,test weeks (with --held-out-rows in --train-args, validation and test are among the training weeks)")
	flag.DurationVar(&cfg.Timeout, "timeout", 45*time.Minute, "time allowed for the DAG runs")
	flag.IntVar(&cfg.Executors, "executors", 3, "LocalExecutor parallelism")
	flag.StringVar(&cfg.TrainArgs, "train-args", replay.DefaultTrainArgs, "extra flags of the train tasks (TT_ARGS_TRAIN)")
	flag.StringVar(&cfg.DriftArgs, "drift-args", replay.DefaultDriftArgs, "extra flags of the driftcheck tasks (TT_ARGS_DRIFTCHECK)")
	flag.StringVar(&cfg.ForecastArgs, "forecast-args", replay.DefaultForecastArgs, "extra flags of the forecast tasks (TT_ARGS_FORECAST)")
	flag.IntVar(&cfg.HeavySlots, "heavy-slots", replay.DefaultHeavySlots, "slots of the telco_heavy pool (0: infra/airflow/pools.json's)")
	var xcom string
	ctx := taskio.Parse(&xcom)
	taskio.Exit("replay", run(ctx, &cfg, os.Stdout, os.Stderr))
}

func run(ctx context.Context, cfg *replay.Config, stdout, stderr io.Writer) error {
	var err error
	if cfg.Repo, err = testenv.ModuleRoot(); err != nil {
		return err
	}
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return err
	}
	if cfg.Bin, err = filepath.Abs(cfg.Bin); err != nil {
		return err
	}
	if cfg.MLflow, err = testenv.PeerPath(testenv.EnvMLflow); err != nil {
		return err
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return errors.New("replay: no initdb on PATH: install PostgreSQL (apt-get install postgresql) for Airflow's metadata DB")
	}
	if initdb, err = filepath.EvalSymlinks(initdb); err != nil {
		return err
	}
	cfg.PGBin = filepath.Dir(initdb)
	if cfg.Psql, err = exec.LookPath("psql"); err != nil {
		return errors.New("replay: no psql on PATH (apt-get install postgresql-client)")
	}
	cfg.Progress = stderr
	res, err := replay.Run(ctx, *cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-9s %6s %8s %8s %8s %8s %5s %5s %6s %6s %6s %6s  %s\n", "week", "flows", "frozenF1", "frozenAc",
		"loopF1", "loopAcc", "loopV", "mase", "alerts", "retr", "false", "promo", "events")
	for _, w := range res.Weeks {
		fmt.Fprintf(stdout, "%-9s %6d %8.4f %8.4f %8.4f %8.4f %5s %5.2f %6d %6d %6d %6d  %s\n", w.Week, w.Flows, w.FrozenMacroF1NoSNI,
			w.FrozenAccuracy, w.LoopMacroF1NoSNI, w.LoopAccuracy, w.LoopVersion, w.ForecastMASE, w.DriftAlertDays, w.Retrains,
			w.FalseRetrains, w.Promotions, w.Events)
	}
	fmt.Fprint(stdout, res.Summary.Lines())
	fmt.Fprintf(stderr, "replay: %s in %.0f s (task time %.0f s); report %s\n", cfg.Dir, res.Summary.Seconds, res.Summary.TaskSeconds, res.Report)
	if res.Summary.DAGRunsFailed > 0 {
		return fmt.Errorf("replay: %d DAG runs failed", res.Summary.DAGRunsFailed)
	}
	return nil
}
