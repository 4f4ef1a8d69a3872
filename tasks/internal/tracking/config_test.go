package tracking

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{"minimal", map[string]string{"MLFLOW_TRACKING_URI": " http://127.0.0.1:5000 "},
			Config{TrackingURI: "http://127.0.0.1:5000"}, ""},
		{"basic auth and experiment", map[string]string{"MLFLOW_TRACKING_URI": "https://mlflow.example/prefix",
			"MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p", "MLFLOW_EXPERIMENT_NAME": "svc",
			"MLFLOW_TRACKING_INSECURE_TLS": "TRUE"},
			Config{TrackingURI: "https://mlflow.example/prefix", Username: "u", Password: "p", Experiment: "svc", InsecureTLS: true}, ""},
		{"token", map[string]string{"MLFLOW_TRACKING_URI": "http://h", "MLFLOW_TRACKING_TOKEN": "t"},
			Config{TrackingURI: "http://h", Token: "t"}, ""},
		{"no uri", map[string]string{}, Config{}, "MLFLOW_TRACKING_URI is not set"},
		{"token and password", map[string]string{"MLFLOW_TRACKING_URI": "http://h", "MLFLOW_TRACKING_TOKEN": "t", "MLFLOW_TRACKING_PASSWORD": "p"},
			Config{}, "choose one"},
		{"bad tls flag", map[string]string{"MLFLOW_TRACKING_URI": "http://h", "MLFLOW_TRACKING_INSECURE_TLS": "yes"},
			Config{}, "MLFLOW_TRACKING_INSECURE_TLS"},
		{"bad timeout", map[string]string{"MLFLOW_TRACKING_URI": "http://h", "MLFLOW_HTTP_REQUEST_TIMEOUT": "soon"},
			Config{}, "MLFLOW_HTTP_REQUEST_TIMEOUT"},
		{"bad retries", map[string]string{"MLFLOW_TRACKING_URI": "http://h", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "-1"},
			Config{}, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExperimentName(t *testing.T) {
	for _, tt := range []struct {
		cfg, arg, want string
	}{{"", "", DefaultExperiment}, {"env", "", "env"}, {"env", "flag", "flag"}} {
		if got := (Config{Experiment: tt.cfg}).ExperimentName(tt.arg); got != tt.want {
			t.Errorf("ExperimentName(%q) with %q = %q, want %q", tt.arg, tt.cfg, got, tt.want)
		}
	}
}

func TestClientRejectsBadURI(t *testing.T) {
	if _, err := (Config{TrackingURI: "file:///tmp/mlruns"}).Client(); err == nil {
		t.Error("a file: tracking URI was accepted; the REST client needs http(s)")
	}
}
