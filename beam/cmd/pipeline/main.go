// Command pipeline runs the Beam jobs of TelcoTraffic: parse (raw day files →
// flows, rejects), aggregate (flows → traffic_hourly) and features (flows →
// flow_features), on the embedded prism runner or on a portable job server
// (Flink's, or a standalone prism) with --runner=flink|universal
// --endpoint=host:port.
//
// Progress and a summary per job go to stderr; the last line of stdout is a
// JSON result (table versions and row counts). Exit status: 0 done, 1
// failed, 99 nothing to do (every table already holds this run's commit, or
// no input in range).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

func main() {
	cfg := registerFlags(flag.CommandLine)
	flag.Parse()
	beam.Init() // a worker process started by a runner never returns from here
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errNothingToDo):
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(99)
	case err != nil:
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}
