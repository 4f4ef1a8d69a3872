package mlflowclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// fakeTracking stands in for `mlflow server` so the example runs anywhere;
// it knows just the calls the example makes.
func fakeTracking() *httptest.Server {
	var mu sync.Mutex
	created := false
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/api/2.0/mlflow/experiments/get-by-name":
			if !created {
				w.WriteHeader(404)
				io.WriteString(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Could not find experiment"}`)
				return
			}
			io.WriteString(w, `{"experiment":{"experiment_id":"1","name":"svc-clf","artifact_location":"mlflow-artifacts:/1","lifecycle_stage":"active"}}`)
		case "/api/2.0/mlflow/experiments/create":
			created = true
			io.WriteString(w, `{"experiment_id":"1"}`)
		case "/api/2.0/mlflow/runs/create":
			io.WriteString(w, `{"run":{"info":{"run_id":"abc","experiment_id":"1","status":"RUNNING","artifact_uri":"mlflow-artifacts:/1/abc/artifacts"}}}`)
		case "/api/2.0/mlflow/runs/update":
			io.WriteString(w, `{"run_info":{"run_id":"abc","status":"FINISHED"}}`)
		case "/api/2.0/mlflow/registered-models/alias":
			w.WriteHeader(400)
			io.WriteString(w, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Registered model alias champion not found."}`)
		default:
			io.WriteString(w, `{}`)
		}
	}))
}

func Example() {
	srv := fakeTracking()
	defer srv.Close()
	ctx := context.Background()

	// In a main: mlflowclient.NewFromEnv(os.Getenv).
	c, err := mlflowclient.New(srv.URL, mlflowclient.WithUserAgent("train/1"))
	if err != nil {
		log.Fatal(err)
	}
	exp, err := c.Experiments.GetOrCreate(ctx, "svc-clf", nil)
	if err != nil {
		log.Fatal(err)
	}
	run, err := c.Runs.Create(ctx, exp.ID, &mlflowclient.RunCreateOptions{RunName: "train"})
	if err != nil {
		log.Fatal(err)
	}
	err = c.Runs.LogBatch(ctx, run.Info.RunID, mlflowclient.Batch{
		Params:  []mlflowclient.Param{{Key: "max_depth", Value: "6"}},
		Metrics: []mlflowclient.Metric{{Key: "f1_macro", Value: 0.91, Step: 10}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Runs.SetTerminated(ctx, run.Info.RunID, mlflowclient.RunFinished); err != nil {
		log.Fatal(err)
	}
	fmt.Println("experiment", exp.ID, "run", run.Info.RunID, "artifacts at", run.Info.ArtifactURI)

	_, err = c.RegisteredModels.GetVersionByAlias(ctx, "svc-clf", "champion")
	fmt.Println("no champion yet:", errors.Is(err, mlflowclient.ErrNotFound))
	// Output:
	// experiment 1 run abc artifacts at mlflow-artifacts:/1/abc/artifacts
	// no champion yet: true
}

func ExampleMLmodel() {
	m := mlflowclient.MLmodel{
		ArtifactPath: "model",
		XGBoost:      &mlflowclient.XGBoostFlavor{XGBVersion: "1.7.4", Data: "model.ubj"},
		Flavors: []mlflowclient.Flavor{{Name: mlflowclient.TelcoTrafficFlavor, Fields: []mlflowclient.Field{
			{Key: "format", Value: "tt-bundle-v1"},
		}}},
	}
	doc, err := m.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	// utc_time_created (the last line) changes with every call.
	fmt.Print(string(doc[:len(doc)-len(`utc_time_created: "2006-01-02 15:04:05.000000"`)-1]))
	// Output:
	// artifact_path: "model"
	// flavors:
	//   telcotraffic:
	//     format: "tt-bundle-v1"
	//   xgboost:
	//     code: null
	//     data: "model.ubj"
	//     model_class: "xgboost.core.Booster"
	//     model_format: "ubj"
	//     xgb_version: "1.7.4"
}
