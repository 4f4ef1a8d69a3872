# TelcoTraffic. `make demo` runs the whole chain; `make test` runs every test.
SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/telcotraffic
DEMO_DIR ?= .demo
GO ?= go

export TELCO_PYTHON := $(CURDIR)/.venv/bin/python
export TELCO_MLFLOW := $(CURDIR)/.venv/bin/mlflow
export TELCO_VERSITYGW := $(CACHE)/bin/versitygw
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# libxgboost's OpenMP threads spin while idle; on 2 shared cores that costs 10x.
export OMP_WAIT_POLICY := passive
export TELCO_TEST_ARTIFACTS := $(CURDIR)/.test-artifacts

TASKS := generate demo train evaluate forecast register promote score driftcheck report replay

.PHONY: all setup build demo replay test test-go test-dags lint bench bench-parse bench-ingest bench-week bench-classify bench-decay bench-drift bench-evidently bench-seqnet bench-stack clean

all: build

setup:
	@./.ci/setup

build:
	@mkdir -p bin
	@for t in $(TASKS); do $(GO) build -o bin/$$t ./tasks/$$t || exit 1; done
	@$(GO) build -o bin/pipeline ./beam/cmd/pipeline

demo: setup build
	@DEMO_DIR=$(DEMO_DIR) ./bin/demo --dir $(DEMO_DIR) --bin bin

# A generated quarter (2022-W01…W13) replayed by Airflow's own scheduler
# (PostgreSQL, MLflow, Airflow 3 with the LocalExecutor, TT_EXECUTOR=local):
# the frozen model vs the loop per week, then a stable summary. The two-week
# version is tasks/internal/replay's TestReplayTwoWeeks (make test).
replay: setup build
	@./bin/replay --dir $(or $(REPLAY_DIR),.replay) --weeks $(or $(WEEKS),13) --flows-per-day $(or $(FLOWS),1000) --timeout $(or $(REPLAY_TIMEOUT),45m)

test: setup test-go test-dags

test-go:
	$(GO) test -count=1 -timeout 45m ./...

test-dags: build
	.venv-airflow/bin/pytest dags -q

lint: setup
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(CACHE)/bin/staticcheck ./...
	.venv-airflow/bin/ruff check dags lakehouse/testdata beam tasks mlflowclient
	shellcheck $$(git ls-files '*.sh') .ci/run .ci/setup

bench: setup build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./beam/cesnet/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./tasks/internal/synth/ ./mlflowclient/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./lakehouse/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./tasks/internal/xgb/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./tasks/internal/seqnet/
	$(GO) test -run '^$$' -bench . -skip 'SeqnetPeer|Peers' -benchtime 1x ./tasks/internal/classify/ ./beam/parse/ ./beam/deltaio/ ./beam/features/
	$(GO) test -run '^$$' -bench Quarter -benchtime 3x ./tasks/internal/report/
	$(GO) test -run '^$$' -bench BenchmarkScoreDay -benchtime 1x -timeout 60m ./tasks/internal/serve/ -args -score-flows 1400000
	TELCO_FC_PEER_MODELS=SeasonalNaive24,SeasonalNaive168,MSTL $(GO) test -run '^$$' -bench 'BenchmarkPeerComparison|BenchmarkXGBoostFit' -benchtime 1x -timeout 60m ./tasks/internal/forecast/
	$(MAKE) bench-parse
	$(MAKE) bench-ingest
	$(MAKE) bench-classify
	$(MAKE) bench-evidently
	$(MAKE) bench-seqnet

# Beam parse end to end (gz → Delta) vs zcat and the seed's Spark Job A
# (PySpark, local[2]) on the same generated files, also beside a busy core
# (BUSY=0 skips that); ~5 min at the defaults.
bench-parse: setup
	DAYS=$(or $(DAYS),7) FLOWS=$(or $(FLOWS),100000) ./beam/bench/parse-peer.sh

# The whole daily ingest (parse + aggregate + features, and the compaction of a
# week the days close) vs the seed's Spark Job A + B + C on the same generated
# files, with per-stage rows/s, CPU µs per row, peak MB and ratios (the table in
# WORK/stages.md). The defaults are one real-size Monday (~2.07 M rows, ~10 min
# with Spark on a quiet machine); bench-week for a real-size week.
bench-ingest: setup
	JOBS=all BUSY=$(or $(BUSY),0) DAYS=$(or $(DAYS),1) FLOWS=$(or $(FLOWS),1400000) ./beam/bench/parse-peer.sh

# A real-size week end to end (7 generated days of ~1.4 M flows on average,
# ~10 M rows, the compaction of the week they close): ours per stage with CPU
# seconds and peak MB, Spark A + B + C beside it (SPARK=0 skips it: about an
# hour on 2 cores), and the year projection (year_* keys).
bench-week: setup
	JOBS=all BUSY=0 SUBSETS=$(or $(SUBSETS),0) SPARK=$(or $(SPARK),1) DAYS=$(or $(DAYS),7) FLOWS=$(or $(FLOWS),1400000) ./beam/bench/parse-peer.sh

# Our tree member, the bundle (stacker, open-set head) and the Python peers
# (LightGBM, XGBoost) on the same rows of the demo's flow_features
# (`make demo` runs first when its lake is missing): one table of CPU seconds, accuracy, macro-F1 and
# unknown TPR at 5 % FPR. PEERS_LAKE overrides the lake.
bench-classify: setup
	@test -d "$(or $(PEERS_LAKE),$(DEMO_DIR)/lake)/flow_features" || $(MAKE) demo
	$(GO) test -run '^$$' -bench BenchmarkPeers -benchtime 1x -timeout 90m ./tasks/internal/classify/ -args -peers-lake $(abspath $(or $(PEERS_LAKE),$(DEMO_DIR)/lake))

# A frozen no-SNI classifier trained on generated June 2022, tested on July,
# August and September (accuracy per month); DECAY_FLOWS flows per day.
bench-decay: setup
	DECAY_FLOWS=$(or $(DECAY_FLOWS),3000) $(GO) test -run '^$$' -bench FrozenDecay -benchtime 1x -timeout 60m ./tasks/internal/classify/

# The daily drift check over a generated quarter, scored against the
# manifest (precision, recall within 3 days, seconds per day); and the
# histogram pass in flows/s.
bench-drift: setup
	$(GO) test -run '^$$' -bench Histogram -benchtime 2000000x ./tasks/internal/drift/
	DRIFT_FLOWS=$(or $(DRIFT_FLOWS),10000) $(GO) test -run '^$$' -bench DriftQuarter -benchtime 1x -timeout 60m ./tasks/internal/drift/

# driftcheck vs Evidently's data-drift report (DataDriftPreset) on the same
# two windows (a champion's training window, one day): seconds of each and
# the features each flags. Evidently lives in its own venv under
# ~/.cache/telcotraffic, created here: it is never a test dependency.
bench-evidently: setup
	EVIDENTLY_PYTHON=$$(./tasks/driftcheck/evidently/setup-venv.sh) EVIDENTLY_FLOWS=$(or $(EVIDENTLY_FLOWS),20000) \
		$(GO) test -run '^$$' -bench Evidently -benchtime 1x -timeout 30m ./tasks/driftcheck/

# Our sequence net and LSTM vs PyTorch's CNN of the same architecture and
# LSTM, trained on the same rows (the demo's data: train W06–W08, validate
# W09, test W10, no SNI) for the same epochs: accuracy, macro-F1, training
# CPU seconds, one table. Torch lives in its own venv under
# ~/.cache/telcotraffic, created here: it is never a test dependency.
# The stacking rules (grid, learned logit stacker and its options) on the
# members' validation/test probabilities over the demo's rows (no SNI);
# NET_ROWS/NET_EPOCHS set the net member's budget (the demo's by default),
# STACK_CACHE keeps the members' probabilities for reruns.
bench-stack: setup
	@test -d "$(or $(PEERS_LAKE),$(DEMO_DIR)/lake)/flow_features" || $(MAKE) demo
	$(GO) test -run '^$$' -bench BenchmarkStackers -benchtime 1x -timeout 90m ./tasks/internal/classify/ -args \
		-peers-lake $(abspath $(or $(PEERS_LAKE),$(DEMO_DIR)/lake)) -stack-net-rows $(or $(NET_ROWS),20000) \
		-stack-net-epochs $(or $(NET_EPOCHS),10) $(if $(STACK_CACHE),-stack-cache $(abspath $(STACK_CACHE)))

bench-seqnet: setup
	SEQNET_PEER_PYTHON=$$(./tasks/internal/seqnet/torchpeer/setup-venv.sh) SEQNET_FLOWS=$(or $(SEQNET_FLOWS),5000) \
		SEQNET_EPOCHS=$(or $(SEQNET_EPOCHS),10) $(GO) test -run '^$$' -bench SeqnetPeer -benchtime 1x -timeout 60m ./tasks/internal/classify/

clean:
	rm -rf bin $(DEMO_DIR)

include images/images.mk
