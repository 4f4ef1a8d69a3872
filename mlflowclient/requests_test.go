package mlflowclient

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// recorded is what the server saw of one request, as stored in
// testdata/requests/*.json.
type recorded struct {
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	Query       map[string][]string `json:"query,omitempty"`
	ContentType string              `json:"content_type,omitempty"`
	Body        json.RawMessage     `json:"body,omitempty"` // JSON bodies as sent; others as a JSON string
}

// cannedAnswers lets each call decode something sensible.
var cannedAnswers = map[string]string{
	"/api/2.0/mlflow/experiments/create":       `{"experiment_id":"1"}`,
	"/api/2.0/mlflow/runs/create":              `{"run":{"info":{"run_id":"r1","experiment_id":"1","status":"RUNNING","artifact_uri":"mlflow-artifacts:/1/r1/artifacts"}}}`,
	"/api/2.0/mlflow/runs/get":                 `{"run":{"info":{"run_id":"r1","experiment_id":"1","status":"RUNNING","artifact_uri":"mlflow-artifacts:/1/r1/artifacts"}}}`,
	"/api/2.0/mlflow/runs/update":              `{"run_info":{"run_id":"r1","status":"FINISHED"}}`,
	"/api/2.0/mlflow/registered-models/create": `{"registered_model":{"name":"svc-clf"}}`,
	"/api/2.0/mlflow/registered-models/update": `{"registered_model":{"name":"svc-clf"}}`,
	"/api/2.0/mlflow/model-versions/create":    `{"model_version":{"name":"svc-clf","version":"1","status":"READY"}}`,
	"/api/2.0/mlflow/registered-models/alias":  `{"model_version":{"name":"svc-clf","version":"1","status":"READY"}}`,
}

func TestGoldenRequests(t *testing.T) {
	ctx := context.Background()
	t0 := time.UnixMilli(1700000000000)
	calls := []struct {
		name string
		call func(*Client) error
	}{
		{"experiments_create", func(c *Client) error {
			_, err := c.Experiments.Create(ctx, "svc-clf", &ExperimentCreateOptions{Tags: []Tag{{"team", "telco"}}})
			return err
		}},
		{"experiments_search", func(c *Client) error {
			for _, err := range c.Experiments.Search(ctx, &ExperimentSearchOptions{Filter: "name LIKE 'svc-%'", OrderBy: []string{"name"}, PageSize: 2}) {
				return err
			}
			return nil
		}},
		{"runs_create", func(c *Client) error {
			_, err := c.Runs.Create(ctx, "1", &RunCreateOptions{RunName: "train-2024-01-01", StartTime: t0,
				Tags: []Tag{{"mlflow.source.type", "JOB"}, {"mlflow.source.git.commit", "abc123"}}})
			return err
		}},
		{"runs_update", func(c *Client) error {
			_, err := c.Runs.Update(ctx, "r1", RunUpdate{Status: RunFinished, EndTime: t0.Add(time.Minute)})
			return err
		}},
		{"runs_log_batch", func(c *Client) error {
			return c.Runs.LogBatch(ctx, "r1", Batch{
				Metrics: []Metric{
					{Key: "loss", Value: 0.5, Timestamp: 1700000000001, Step: 0},
					{Key: "loss", Value: math.NaN(), Timestamp: 1700000000002, Step: 1},
					{Key: "loss", Value: math.Inf(1), Timestamp: 1700000000003, Step: 2},
					{Key: "loss", Value: math.Inf(-1), Timestamp: 1700000000004, Step: 3},
				},
				Params: []Param{{"max_depth", "6"}},
				Tags:   []Tag{{"delta.flows.version", "12"}},
			})
		}},
		{"runs_search", func(c *Client) error {
			for _, err := range c.Runs.Search(ctx, &RunSearchOptions{ExperimentIDs: []string{"1", "2"},
				Filter: "metrics.f1_macro > 0.8", OrderBy: []string{"metrics.f1_macro DESC"}, ViewType: ActiveOnly, PageSize: 10}) {
				return err
			}
			return nil
		}},
		{"runs_log_model", func(c *Client) error {
			return c.Runs.LogModel(ctx, "r1", []byte(`{"artifact_path":"model"}`))
		}},
		{"metrics_get_history", func(c *Client) error {
			for _, err := range c.Runs.MetricHistory(ctx, "r1", "loss") {
				return err
			}
			return nil
		}},
		{"artifacts_upload", func(c *Client) error {
			return c.Artifacts.Upload(ctx, "mlflow-artifacts:/1/r1/artifacts", "eval/confusion matrix.csv", strings.NewReader("a,b\n1,2\n"))
		}},
		{"artifacts_list", func(c *Client) error {
			_, err := c.Artifacts.List(ctx, "mlflow-artifacts://mlflow:5000/1/r1/artifacts", "model")
			return err
		}},
		{"registered_models_create", func(c *Client) error {
			_, err := c.RegisteredModels.Create(ctx, "svc-clf", &RegisteredModelCreateOptions{Description: "classifier", Tags: []Tag{{"task", "classification"}}})
			return err
		}},
		{"registered_models_update", func(c *Client) error {
			_, err := c.RegisteredModels.Update(ctx, "svc-clf", "new description")
			return err
		}},
		{"registered_models_search", func(c *Client) error {
			for _, err := range c.RegisteredModels.Search(ctx, &RegisteredModelSearchOptions{Filter: "name LIKE 'svc%'", OrderBy: []string{"name ASC", "last_updated_timestamp DESC"}}) {
				return err
			}
			return nil
		}},
		{"model_versions_create_from_run", func(c *Client) error {
			_, err := c.ModelVersions.CreateFromRun(ctx, "svc-clf", "r1", "model", &ModelVersionCreateOptions{Tags: []Tag{{"f1_macro", "0.91"}}})
			return err
		}},
		{"model_versions_search", func(c *Client) error {
			for _, err := range c.ModelVersions.Search(ctx, &ModelVersionSearchOptions{Filter: "name = 'svc-clf'", OrderBy: []string{"version_number DESC"}}) {
				return err
			}
			return nil
		}},
		{"model_versions_set_tag", func(c *Client) error {
			return c.ModelVersions.SetTag(ctx, "svc-clf", "1", "validation_status", "passed")
		}},
		{"alias_set", func(c *Client) error { return c.RegisteredModels.SetAlias(ctx, "svc-clf", "champion", "1") }},
		{"alias_get", func(c *Client) error {
			_, err := c.RegisteredModels.GetVersionByAlias(ctx, "svc-clf", "champion")
			return err
		}},
		{"alias_delete", func(c *Client) error { return c.RegisteredModels.DeleteAlias(ctx, "svc-clf", "challenger") }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			var got []recorded
			c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), ContentType: r.Header.Get("Content-Type")}
				if q := r.URL.Query(); len(q) > 0 {
					rec.Query = q
				}
				switch {
				case len(body) == 0:
				case rec.ContentType == "application/json":
					var buf bytes.Buffer
					if err := json.Indent(&buf, body, "", "  "); err != nil {
						t.Errorf("JSON body does not parse: %v: %s", err, body)
					}
					rec.Body = buf.Bytes()
				default:
					rec.Body, _ = json.Marshal(string(body))
				}
				got = append(got, rec)
				answer, ok := cannedAnswers[r.URL.Path]
				if !ok {
					answer = "{}"
				}
				io.WriteString(w, answer)
			}), WithRetries(0, 0, 0))
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
			golden := filepath.Join("testdata", "requests", tc.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenRequests -update)", err)
			}
			if diff := cmp.Diff(string(want), string(out)); diff != "" {
				t.Errorf("requests differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
