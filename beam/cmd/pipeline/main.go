// Command pipeline runs the Beam jobs of TelcoTraffic: parse (raw day files →
// flows, rejects), aggregate (flows → traffic_hourly) and features (flows →
// flow_features), on the embedded prism runner or on a portable job server
// (Flink's, or a standalone prism) with --runner=flink|universal
// --endpoint=host:port.
//
// Progress and a summary per job go to stderr; the last line of stdout is a
// JSON result, pipelineresult.Result (table versions and row counts; keys
// rows_in, rows_ingested, rejects, <table>_version, <table>_rows,
// <table>_files, jobs; for parse also days (one report per day file),
// stats_check (days whose row count matched their stats file: ok,
// mismatch, no_stats) and quarantined), on failure too: then with "error"
// and, when a day file is to blame, "file" (the task contract, tasks/taskio).
// Exit status: 0 done, 1 failed (including: a day file was quarantined,
// the other days were ingested), 99 nothing to do (every table already
// holds this run's commit, or no input in range).
//
// --job=vacuum deletes the files of every lake table that no commit
// references and that are older than --retention (default 7 days).
//
// --job=compact --week=YYYY-Www compacts a closed week: in flows and
// flow_features, per partition of the week, the data files under
// --target_file_size (default 128 MB) are rewritten into files of up to
// that size (OPTIMIZE, dataChange=false), then those tables are vacuumed
// with --retention; the result's "compact" key has, per table, the
// OPTIMIZE version, files removed/added and the week's files before and
// after. --job=all does the same for every week whose last day (Sunday, or
// 31 December) it ingested (--compact_closed_weeks=false: not).
//
// Examples:
//
//	pipeline --job=all --input=/data/CESNET-TLS-Year22 --lake=/data/lake --from=2022-03-07 --to=2022-03-13
//	pipeline --job=parse --input='s3://raw/WEEK-2022-1*/*/flows-*.csv.xz' --lake=s3://lake/telco
//
// On Flink: start Beam's Flink job server next to the cluster; locally, with
// an embedded Flink 1.19 cluster (classpath from Maven, beam/flink/jobserver.sh)
//
//	beam/flink/jobserver.sh fetch && beam/flink/jobserver.sh run --job-port 8099
//
// and run with --runner=flink --endpoint=127.0.0.1:8099. Without
// --environment_type the workers run in this process (LOOPBACK, single
// host: this binary's default for Beam's flag); on a real cluster use --environment_type=EXTERNAL (a
// `boot --worker_pool` sidecar per task manager) or PROCESS, and build the
// worker with CGO_ENABLED=0 GOOS=linux GOARCH=amd64 and pass
// --worker_binary. --runner=universal talks to any portable job server
// (the tests use Beam's standalone prism job server the same way).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"

	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

func main() {
	cfg := registerFlags(flag.CommandLine)
	cpuProfile := flag.String("cpu_profile", "", "write a CPU profile of this process to the file (measurement aid)")
	err := loopbackByDefault(flag.CommandLine)
	ctx := taskio.Parse(&cfg.XCom)
	beam.Init() // a worker process started by a runner never returns from here
	cfg.Runner = *runners.Runner
	if err == nil {
		err = withCPUProfile(*cpuProfile, func() error { return run(ctx, cfg, os.Stdout, os.Stderr) })
	}
	taskio.Exit("pipeline", err)
}

// withCPUProfile runs f, profiling this process into the file when path is
// not empty.
func withCPUProfile(path string, f func() error) error {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(out)
	}
	if err != nil {
		return fmt.Errorf("--cpu_profile: %w", err)
	}
	err = f()
	pprof.StopCPUProfile()
	return errors.Join(err, out.Close())
}
