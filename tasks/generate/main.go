// Command generate writes a synthetic CESNET-TLS-Year22 dataset (day files,
// stats files, manifest.json); the work is done by tasks/internal/synth.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

func main() {
	var cfg synth.Config
	var describe, xcomPath string
	flag.StringVar(&cfg.Out, "out", "", "dataset root to write (required)")
	flag.Func("start", "first day, YYYY-MM-DD (default 2022-01-01)", func(s string) (err error) {
		cfg.Start, err = time.Parse("2006-01-02", s)
		return err
	})
	flag.IntVar(&cfg.Days, "days", 7, "number of days")
	flag.IntVar(&cfg.FlowsPerDay, "flows-per-day", 20000, "mean flows per data day (over the calendar year)")
	flag.Int64Var(&cfg.Seed, "seed", 1, "seed; the same seed gives the same bytes")
	flag.StringVar(&cfg.Compress, "compress", "xz", "flow file compression: xz, gz or none")
	flag.IntVar(&cfg.XZLevel, "xz-level", 1, "xz preset 0-9")
	flag.IntVar(&cfg.GzipLevel, "gzip-level", 6, "gzip level 1-9 (1: 40 % less CPU than 6, files 16 % larger)")
	flag.IntVar(&cfg.Workers, "workers", 0, "days generated in parallel (0: GOMAXPROCS)")
	flag.StringVar(&describe, "describe", "", "instead of generating, profile the dataset at this root (shares, weekday/weekend, hours)")
	ctx := taskio.Parse(&xcomPath)
	if describe != "" {
		taskio.Exit("generate", runDescribe(ctx, describe, os.Stdout))
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	taskio.Exit("generate", run(ctx, cfg, xcomPath, os.Stdout, os.Stderr))
}

// run generates the dataset, prints a summary to stderr and the one-line
// JSON result to stdout.
func run(ctx context.Context, cfg synth.Config, xcomPath string, stdout, stderr io.Writer) error {
	cfg.Progress = stderr
	res, err := synth.Generate(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "generate: %d rows in %d day files (%d empty), %d apps, %.1f MB %s, %.1f s, %.0f rows/s → %s\n",
		res.Rows, res.Files, res.EmptyDays, res.Apps, float64(res.Bytes)/1e6, res.Compress, res.Seconds, res.RowsPerSec, res.Out)
	return taskio.WriteResult(stdout, xcomPath, res)
}

// runDescribe prints the profile of an existing dataset (generated or real).
func runDescribe(ctx context.Context, root string, stdout io.Writer) error {
	p, err := synth.Describe(ctx, root, nil)
	if err != nil {
		return err
	}
	_, err = p.WriteTo(stdout)
	return err
}
