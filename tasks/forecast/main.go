// Command forecast trains the capacity forecaster on hourly traffic,
// backtests it beside the seasonal naive baselines, and writes 24 h
// forecasts with 80/95 % intervals and capacity alerts; the work is done by
// tasks/internal/forecast.
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the calendar's zone also in images without zoneinfo

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err == nil && cfg.experiment != "" {
		cfg.mlflow, err = tracking.ConfigFromEnv(os.Getenv)
	}
	if err == nil && cfg.modelName != "" {
		cfg, err = withChampion(ctx, cfg, os.Args[1:], os.Stderr)
	}
	if err != nil {
		taskio.Exit("forecast", err)
	}
	taskio.Exit("forecast", run(ctx, cfg, os.Stdout, os.Stderr))
}
