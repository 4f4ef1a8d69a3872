package tracking

import (
	"net/url"
	"strings"
)

// Addresses of pages of the MLflow 3 UI, a single-page app with hash routes
// (checked against MLflow 3.7.0). base is the tracking server URL.

// ExperimentURL is the experiment's runs table.
func ExperimentURL(base, experimentID string) string {
	return strings.TrimRight(base, "/") + "/#/experiments/" + url.PathEscape(experimentID)
}

// ChartsURL is the experiment's chart view: one chart per metric, curves of
// the per-round histories. (Metric columns are hidden in the runs table
// until a user picks them.)
func ChartsURL(base, experimentID string) string {
	return ExperimentURL(base, experimentID) + "/runs?compareRunsMode=CHART"
}

// RunURL is a run's page: metrics, params, tags, artifacts, registered models.
func RunURL(base, experimentID, runID string) string {
	return ExperimentURL(base, experimentID) + "/runs/" + url.PathEscape(runID)
}

// ModelURL is a registered model's page: versions, their tags and aliases.
func ModelURL(base, name string) string {
	return strings.TrimRight(base, "/") + "/#/models/" + url.PathEscape(name)
}

// ModelVersionURL is one model version's page.
func ModelVersionURL(base, name, version string) string {
	return ModelURL(base, name) + "/versions/" + url.PathEscape(version)
}
