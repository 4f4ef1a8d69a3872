// Command evaluate scores classifier bundles on the weeks after their
// validation window and writes the report (JSON, text, confusion CSVs).
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/taskio"
)

type config struct {
	data classify.SourceFlags
	eval classify.EvalConfig
	xcom bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg config
	cfg.data.RegisterFlags(flag.CommandLine)
	cfg.eval.RegisterFlags(flag.CommandLine)
	flag.BoolVar(&cfg.xcom, "xcom", false, "also write the result to "+taskio.XComPath)
	flag.Parse()
	taskio.Exit("evaluate", run(ctx, cfg, os.Stdout, os.Stderr))
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if len(cfg.eval.Models) == 0 || cfg.eval.Out == "" {
		return errors.New("--model and --out are required")
	}
	src, err := cfg.data.Open()
	if err != nil {
		return err
	}
	rep, err := classify.Evaluate(ctx, src, cfg.eval, stderr)
	if err != nil {
		return err
	}
	if err := rep.WriteText(stderr); err != nil {
		return err
	}
	xcom := ""
	if cfg.xcom {
		xcom = taskio.XComPath
	}
	return taskio.WriteResult(stdout, xcom, rep.Result(cfg.eval.Out))
}
