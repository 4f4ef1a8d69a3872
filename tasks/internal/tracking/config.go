package tracking

import (
	"errors"
	"fmt"
	"strings"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// DefaultExperiment is used when neither the task nor MLFLOW_EXPERIMENT_NAME
// names an experiment.
const DefaultExperiment = "telcotraffic"

// Config says which tracking server to use and how to authenticate, with the
// variables Python MLflow reads.
type Config struct {
	TrackingURI string // MLFLOW_TRACKING_URI, http(s)://host[:port][/prefix]
	Username    string // MLFLOW_TRACKING_USERNAME (basic auth)
	Password    string // MLFLOW_TRACKING_PASSWORD
	Token       string // MLFLOW_TRACKING_TOKEN (bearer)
	InsecureTLS bool   // MLFLOW_TRACKING_INSECURE_TLS
	Experiment  string // MLFLOW_EXPERIMENT_NAME; default DefaultExperiment

	// lookup is the environment ConfigFromEnv read: the client takes the
	// rest of MLflow's variables (MLFLOW_HTTP_REQUEST_TIMEOUT,
	// MLFLOW_HTTP_REQUEST_MAX_RETRIES) from it through
	// mlflowclient.NewFromEnv, the one reader of those variables.
	lookup func(string) string
}

// ConfigFromEnv reads the configuration through lookup (pass os.Getenv).
func ConfigFromEnv(lookup func(string) string) (Config, error) {
	c := Config{
		lookup:      lookup,
		TrackingURI: strings.TrimSpace(lookup("MLFLOW_TRACKING_URI")),
		Username:    lookup("MLFLOW_TRACKING_USERNAME"),
		Password:    lookup("MLFLOW_TRACKING_PASSWORD"),
		Token:       lookup("MLFLOW_TRACKING_TOKEN"),
		Experiment:  strings.TrimSpace(lookup("MLFLOW_EXPERIMENT_NAME")),
	}
	switch v := strings.ToLower(strings.TrimSpace(lookup("MLFLOW_TRACKING_INSECURE_TLS"))); v {
	case "", "false", "0":
	case "true", "1":
		c.InsecureTLS = true
	default:
		return Config{}, fmt.Errorf("tracking: MLFLOW_TRACKING_INSECURE_TLS=%q: want true, false, 1 or 0", v)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	if _, err := c.Client(); err != nil { // the client's variables, checked now
		return Config{}, err
	}
	return c, nil
}

// Validate reports a missing URI or conflicting credentials.
func (c Config) Validate() error {
	if c.TrackingURI == "" {
		return errors.New("tracking: MLFLOW_TRACKING_URI is not set (e.g. http://127.0.0.1:5000)")
	}
	if c.Token != "" && (c.Username != "" || c.Password != "") {
		return errors.New("tracking: both MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_USERNAME/PASSWORD are set; choose one")
	}
	return nil
}

// ExperimentName returns the experiment to use: name if given, else the
// configured one, else DefaultExperiment.
func (c Config) ExperimentName(name string) string {
	switch {
	case name != "":
		return name
	case c.Experiment != "":
		return c.Experiment
	}
	return DefaultExperiment
}

// Client builds an MLflow client for the configuration with
// mlflowclient.NewFromEnv: the fields stand for their variables, the other
// variables (timeouts, retries) come from the environment ConfigFromEnv
// read. opts come last and win.
func (c Config) Client(opts ...mlflowclient.Option) (*mlflowclient.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	env := func(k string) string {
		switch k {
		case "MLFLOW_TRACKING_URI":
			return c.TrackingURI
		case "MLFLOW_TRACKING_USERNAME":
			return c.Username
		case "MLFLOW_TRACKING_PASSWORD":
			return c.Password
		case "MLFLOW_TRACKING_TOKEN":
			return c.Token
		case "MLFLOW_TRACKING_INSECURE_TLS":
			if c.InsecureTLS {
				return "true"
			}
			return ""
		}
		if c.lookup != nil {
			return c.lookup(k)
		}
		return ""
	}
	cl, err := mlflowclient.NewFromEnv(env, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracking: %w", err)
	}
	return cl, nil
}
