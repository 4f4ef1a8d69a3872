package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startFlinkJobServer starts Beam's Flink job server (beam/flink/jobserver.sh:
// the runner's jars from Maven, an embedded local Flink cluster) on a free
// 127.0.0.1 port and returns its endpoint and the path of its log. The log's
// tail is printed when the test fails.
func startFlinkJobServer(t *testing.T) (endpoint, logPath string) {
	t.Helper()
	script := filepath.Join(moduleRoot(t), "beam", "flink", "jobserver.sh")
	t0 := time.Now()
	fetch := exec.Command(script, "fetch")
	var fetchOut bytes.Buffer
	fetch.Stdout, fetch.Stderr = &fetchOut, &fetchOut
	if err := fetch.Run(); err != nil {
		t.Fatalf("%s fetch: %v\n%s", script, err, fetchOut.String())
	}
	t.Logf("job server classpath in %s (%.1f s)", strings.TrimSpace(lastLine(fetchOut.String())), time.Since(t0).Seconds())

	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		logFile := filepath.Join(dir, fmt.Sprintf("flink-jobserver-%d.log", attempt))
		logf, err := os.Create(logFile)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(script, "run", "--job-port", strconv.Itoa(port),
			"--artifacts-dir", filepath.Join(dir, "artifacts"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", script, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t0 := time.Now()
		if lastErr = waitTCP(addr, exited, 3*time.Minute); lastErr == nil {
			t.Logf("Flink job server on %s after %.1f s; log %s", addr, time.Since(t0).Seconds(), logFile)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("Flink job server log (tail of %s):\n%s", logFile, fileTail(logFile, 80))
				}
			})
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
				logf.Close()
			})
			return addr, logFile
		}
		_ = cmd.Process.Kill()
		logf.Close()
		t.Logf("Flink job server attempt %d: %v; log tail:\n%s", attempt, lastErr, fileTail(logFile, 40))
	}
	t.Fatalf("Flink job server did not start: %v", lastErr)
	return "", ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// fileTail returns the last n lines of a file.
func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestFlinkJobServer runs parse, aggregate and features on Beam's Flink job server
// (embedded local Flink cluster, LOOPBACK workers in this process) with
// --runner=flink, and checks the tables equal those of the embedded prism
// runner.
func TestFlinkJobServer(t *testing.T) {
	endpoint, logPath := startFlinkJobServer(t)
	raw := portableFixture(t)
	prismLake := runParseAggregate(t, raw, "prism", "")
	flinkLake := runParseAggregate(t, raw, "flink", endpoint)
	sameTables(t, prismLake, flinkLake, "flink")

	// Both jobs ran as Flink jobs on the embedded cluster.
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "switched from state RUNNING to FINISHED"); n != 3 {
		t.Errorf("the job server log shows %d finished Flink jobs, want 3 (parse, aggregate, features)", n)
	}
}
