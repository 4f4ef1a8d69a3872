// Command demo runs the whole chain on embedded defaults (make demo).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/telcotraffic/telcotraffic/tasks/internal/demo"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg demo.Config
	flag.StringVar(&cfg.Dir, "dir", envOr("DEMO_DIR", ".demo"), "demo directory (DEMO_DIR)")
	flag.StringVar(&cfg.Bin, "bin", "bin", "folder with the stage binaries")
	flag.StringVar(&cfg.Raw, "raw", os.Getenv("RAW"), "real CESNET-TLS-Year22 root (RAW); empty: generate")
	flag.StringVar(&cfg.Start, "start", "2022-02-07", "first generated day")
	flag.IntVar(&cfg.Days, "days", 42, "generated days (the forecaster needs 22 + 7 per backtest week)")
	flag.IntVar(&cfg.FlowsPerDay, "flows-per-day", 5000, "mean generated flows per day")
	flag.IntVar(&cfg.BacktestWeeks, "backtest-weeks", 2, "forecast backtest weeks")
	flag.Int64Var(&cfg.Seed, "seed", 1, "generator seed")
	flag.StringVar(&cfg.MLflow, "mlflow", envOr("TELCO_MLFLOW", "mlflow"), "mlflow command for the local tracking server (TELCO_MLFLOW)")
	flag.StringVar(&cfg.Compress, "compress", "gz", "generated file compression: xz, gz or none")
	flag.Parse()
	sum, err := demo.Run(ctx, cfg, os.Stdout, os.Stderr)
	if err == nil {
		fmt.Println("\n== summary ==")
		_, err = sum.WriteTo(os.Stdout)
	}
	taskio.Exit("demo", err)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
