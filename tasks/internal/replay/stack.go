package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stack is what a replay runs on, all on 127.0.0.1: PostgreSQL (Airflow's
// metadata DB), a real `mlflow server`, and Airflow's scheduler,
// dag-processor, triggerer (it runs the deadline alerts' callbacks) and
// api-server (LocalExecutor) parsing the repository's
// dags/ in local mode (TT_EXECUTOR=local). Stop ends every process it
// started and nothing else.
type Stack struct {
	Dir       string // logs, Airflow home, MLflow store
	MLflowURI string
	AirflowUI string // the api-server (UI and REST API)
	PGPort    int

	env   []string // environment of every Airflow process
	procs []*proc
	pgDir string
	pgRun func(*exec.Cmd)
	out   io.Writer
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
}

// StackConfig says where the stack's pieces are and what the DAGs see.
type StackConfig struct {
	Dir       string            // working folder (created)
	Repo      string            // module root: dags/ and .venv-airflow
	MLflow    string            // the mlflow executable
	PGBin     string            // folder with initdb and postgres
	Psql      string            // the psql executable
	DAGEnv    map[string]string // TT_* settings of the DAGs
	Progress  io.Writer
	Executors int // LocalExecutor parallelism
	// HeavySlots overrides the slots of infra/airflow/pools.json's pools
	// (0: as declared).
	HeavySlots int
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StartStack starts PostgreSQL, MLflow and Airflow and waits until each
// answers; on error what was started is stopped.
func StartStack(ctx context.Context, c StackConfig) (s *Stack, err error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	s = &Stack{Dir: c.Dir, out: c.Progress, pgRun: func(*exec.Cmd) {}}
	if s.out == nil {
		s.out = io.Discard
	}
	defer func() {
		if err != nil {
			s.Stop()
			s = nil
		}
	}()
	if err := s.startPostgres(ctx, c); err != nil {
		return s, err
	}
	if err := s.startMLflow(ctx, c); err != nil {
		return s, err
	}
	if err := s.startAirflow(ctx, c); err != nil {
		return s, err
	}
	return s, nil
}

// startPostgres initialises a throwaway cluster and starts it. PostgreSQL
// refuses to run as root: then the cluster belongs to the postgres user.
func (s *Stack) startPostgres(ctx context.Context, c StackConfig) error {
	dir, err := os.MkdirTemp("", "tt-replay-pg-*")
	if err != nil {
		return fmt.Errorf("replay: postgres: %w", err)
	}
	s.pgDir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("replay: postgres: running as root and no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("replay: postgres: %w", err)
		}
		s.pgRun = func(cmd *exec.Cmd) {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(c.PGBin, "initdb"), "-D", data, "-U", "airflow", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.Dir = dir
	s.pgRun(initdb)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("replay: initdb: %w\n%s", err, out)
	}
	if s.PGPort, err = freePort(); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.PGBin, "postgres"), "-D", data, "-p", strconv.Itoa(s.PGPort), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	cmd.Dir = dir
	if err := s.spawn("postgres", cmd, s.pgRun); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		q := exec.CommandContext(ctx, c.Psql, "-h", "127.0.0.1", "-p", strconv.Itoa(s.PGPort), "-U", "airflow", "-d", "postgres", "-c", "create database airflow")
		out, err := q.CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replay: postgres did not come up on port %d: %v: %s (log %s)", s.PGPort, err, out, s.procs[len(s.procs)-1].log.Name())
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Fprintf(s.out, "replay: postgres on 127.0.0.1:%d\n", s.PGPort)
	return nil
}

func (s *Stack) startMLflow(ctx context.Context, c StackConfig) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	home := filepath.Join(s.Dir, "mlflow")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(c.MLflow, "server", "--backend-store-uri", "sqlite:///"+filepath.Join(home, "mlflow.db"),
		"--artifacts-destination", filepath.Join(home, "artifacts"), "--serve-artifacts",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", "1")
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	if err := s.spawn("mlflow", cmd, nil); err != nil {
		return err
	}
	s.MLflowURI = "http://127.0.0.1:" + strconv.Itoa(port)
	if err := s.waitHTTP(ctx, s.MLflowURI+"/health", 4*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "replay: mlflow server on %s\n", s.MLflowURI)
	return nil
}

// AirflowEnv is the Airflow configuration of the stack's processes (and of
// any `airflow` CLI call against it).
func (s *Stack) AirflowEnv() []string { return s.env }

func (s *Stack) startAirflow(ctx context.Context, c StackConfig) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	home := filepath.Join(s.Dir, "airflow")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	s.AirflowUI = "http://127.0.0.1:" + strconv.Itoa(port)
	// Two slots go to the ingest sensors of telco_drift and telco_train (poke mode).
	par := max(c.Executors, 1) + 2
	af := map[string]string{
		"AIRFLOW_HOME":                                      home,
		"AIRFLOW__CORE__DAGS_FOLDER":                        filepath.Join(c.Repo, "dags"),
		"AIRFLOW__CORE__LOAD_EXAMPLES":                      "False",
		"AIRFLOW__CORE__EXECUTOR":                           "LocalExecutor",
		"AIRFLOW__CORE__PARALLELISM":                        strconv.Itoa(par),
		"AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT":              "600",
		"AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT":         "600",
		"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS":     "True",
		"AIRFLOW__CORE__EXECUTION_API_SERVER_URL":           s.AirflowUI + "/execution/",
		"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":               fmt.Sprintf("postgresql+psycopg2://airflow@127.0.0.1:%d/airflow", s.PGPort),
		"AIRFLOW__API__HOST":                                "127.0.0.1",
		"AIRFLOW__API__PORT":                                strconv.Itoa(port),
		"AIRFLOW__API__BASE_URL":                            s.AirflowUI,
		"AIRFLOW__API__WORKERS":                             "1",
		"AIRFLOW__API__SECRET_KEY":                          randomHex(16),
		"AIRFLOW__API_AUTH__JWT_SECRET":                     randomHex(32),
		"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
		// A loaded 2-core machine answers slowly: the workers wait and retry
		// instead of failing a task that never started.
		"AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT":  "60",
		"AIRFLOW__WORKERS__EXECUTION_API_RETRIES":  "10",
		"AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
		"AIRFLOW__LOGGING__LOGGING_LEVEL":          "INFO",
		// The triggerer imports the deadline alerts' callback
		// (telco_alerts.notify_deadline_missed) by module path: dags/ must
		// be importable there, as infra/airflow/values.yaml makes it.
		"PYTHONPATH":      filepath.Join(c.Repo, "dags"),
		"OMP_WAIT_POLICY": "passive",
		"TT_EXECUTOR":     "local",
		"TT_MLFLOW_URI":   s.MLflowURI,
	}
	for k, v := range c.DAGEnv {
		af[k] = v
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := af[k]; ok || strings.HasPrefix(k, "AIRFLOW") || strings.HasPrefix(k, "TT_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range af {
		env = append(env, k+"="+v)
	}
	s.env = env
	exe := filepath.Join(c.Repo, ".venv-airflow", "bin", "airflow")
	fmt.Fprintf(s.out, "replay: airflow db migrate\n")
	mig := exec.CommandContext(ctx, exe, "db", "migrate")
	mig.Env, mig.Dir = env, home
	if out, err := mig.CombinedOutput(); err != nil {
		return fmt.Errorf("replay: airflow db migrate: %w\n%s", err, tail(out, 3000))
	}
	// The pools the DAGs name (telco_heavy): a task whose pool is missing is never scheduled.
	pools := filepath.Join(c.Repo, "infra", "airflow", "pools.json")
	if c.HeavySlots > 0 {
		if pools, err = resizePools(pools, filepath.Join(s.Dir, "pools.json"), c.HeavySlots); err != nil {
			return err
		}
	}
	imp := exec.CommandContext(ctx, exe, "pools", "import", pools)
	imp.Env, imp.Dir = env, home
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("replay: airflow pools import %s: %w\n%s", pools, err, tail(out, 3000))
	}
	for _, part := range []string{"api-server", "dag-processor", "triggerer", "scheduler"} {
		cmd := exec.Command(exe, part)
		cmd.Env, cmd.Dir = env, home
		if err := s.spawn("airflow-"+part, cmd, nil); err != nil {
			return err
		}
	}
	if err := s.waitHTTP(ctx, s.AirflowUI+"/api/v2/monitor/health", 5*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "replay: airflow api-server on %s (scheduler, dag-processor: LocalExecutor, parallelism %d)\n", s.AirflowUI, par)
	return nil
}

// Airflow runs the airflow CLI against the stack.
func (s *Stack) Airflow(ctx context.Context, repo string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(repo, ".venv-airflow", "bin", "airflow"), args...)
	cmd.Env, cmd.Dir = s.env, filepath.Join(s.Dir, "airflow")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("replay: airflow %s: %w\n%s", strings.Join(args, " "), err, tail(out, 3000))
	}
	return out, nil
}

func (s *Stack) spawn(name string, cmd *exec.Cmd, prep func(*exec.Cmd)) error {
	log, err := os.Create(filepath.Join(s.Dir, name+".log"))
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if prep != nil {
		prep(cmd)
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("replay: start %s: %w", name, err)
	}
	s.procs = append(s.procs, &proc{name: name, cmd: cmd, log: log})
	go func() { _ = cmd.Wait() }()
	return nil
}

func (s *Stack) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := s.procs[len(s.procs)-1]
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if last.cmd.ProcessState != nil || time.Now().After(deadline) {
			b, _ := os.ReadFile(last.log.Name())
			return fmt.Errorf("replay: %s did not answer %s: %v\n%s", last.name, url, err, tail(b, 3000))
		}
		time.Sleep(time.Second)
	}
}

// Stop ends the stack's processes (their process groups: SIGTERM, then
// SIGKILL after 30 s), last started first, and removes the database.
func (s *Stack) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		deadline := time.Now().Add(30 * time.Second)
		for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if syscall.Kill(-pgid, 0) == nil {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		p.log.Close()
	}
	s.procs = nil
	if s.pgDir != "" {
		_ = os.RemoveAll(s.pgDir)
	}
}

// Query runs one SQL statement on Airflow's metadata DB; rows of
// '|'-separated fields.
func (s *Stack) Query(ctx context.Context, psql, sql string) ([][]string, error) {
	cmd := exec.CommandContext(ctx, psql, "-h", "127.0.0.1", "-p", strconv.Itoa(s.PGPort), "-U", "airflow", "-d", "airflow",
		"-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("replay: psql %q: %w: %s", sql, err, stderr.String())
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "|"))
		}
	}
	return rows, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

var errTimeout = errors.New("replay: timed out")

// resizePools writes the pools file src with every pool's slots set to
// slots to dst.
func resizePools(src, dst string, slots int) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	var pools map[string]map[string]any
	if err := json.Unmarshal(b, &pools); err != nil {
		return "", fmt.Errorf("replay: %s: %w", src, err)
	}
	for _, p := range pools {
		p["slots"] = slots
	}
	if b, err = json.MarshalIndent(pools, "", "  "); err != nil {
		return "", err
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	return dst, nil
}
