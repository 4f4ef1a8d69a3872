// Command train fits the service classifier on the training and validation
// weeks of flow_features and writes one model bundle per feature set.
package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/taskio"
)

type config struct {
	data  classify.SourceFlags
	train classify.TrainConfig
	xcom  bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg config
	cfg.data.RegisterFlags(flag.CommandLine)
	cfg.train.RegisterFlags(flag.CommandLine)
	flag.BoolVar(&cfg.xcom, "xcom", false, "also write the result to "+taskio.XComPath)
	flag.Parse()
	taskio.Exit("train", run(ctx, cfg, os.Stdout, os.Stderr))
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	src, err := cfg.data.Open()
	if err != nil {
		return err
	}
	res, err := classify.Train(ctx, src, cfg.train, stderr)
	if err != nil {
		return err
	}
	xcom := ""
	if cfg.xcom {
		xcom = taskio.XComPath
	}
	return taskio.WriteResult(stdout, xcom, res)
}
