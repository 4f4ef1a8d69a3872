package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// Where the register task logs evaluate's report on the model's run.
const evalArtifactDir = "evaluation"

// weakestClasses is how many classes with the lowest F1 the page lists per
// feature set.
const weakestClasses = 12

// maxVersions and maxRuns bound the lineage tables.
const (
	maxVersions = 20
	maxRuns     = 20
)

// buildClassifier reads the evaluation of model's version under alias (or
// its latest version when the alias is not set): evaluate's report.json
// and the confusion matrix that register logged with the run, through the
// tracking server. appCategory maps apps to categories for the category
// confusion matrix.
func buildClassifier(ctx context.Context, c *mlflowclient.Client, model, alias string, appCategory map[string]string) (Classifier, error) {
	out := Classifier{Model: model}
	rm, err := c.RegisteredModels.Get(ctx, model)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		out.Absent = fmt.Sprintf("No registered model %q at %s yet (register writes it).", model, c.BaseURL())
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("report: model %s: %w", model, err)
	}
	version, ok := rm.AliasVersion(alias)
	out.Alias = alias
	if !ok {
		out.Alias = "latest"
		for mv, err := range c.ModelVersions.Search(ctx, &mlflowclient.ModelVersionSearchOptions{Filter: fmt.Sprintf("name = '%s'", model)}) {
			if err != nil {
				return out, fmt.Errorf("report: versions of %s: %w", model, err)
			}
			if n, m := atoi(mv.Version), atoi(version); n > m {
				version = mv.Version
			}
		}
		if version == "" {
			out.Absent = fmt.Sprintf("Registered model %q has no versions yet.", model)
			return out, nil
		}
	}
	mv, err := c.ModelVersions.Get(ctx, model, version)
	if err != nil {
		return out, fmt.Errorf("report: %s version %s: %w", model, version, err)
	}
	out.Version = mv.Version
	out.RunID = mv.RunID
	if id, ok := mv.Tag(tracking.TagEvalRunID); ok && id != "" {
		out.RunID = id
	}
	if out.RunID == "" {
		out.Absent = fmt.Sprintf("%s version %s names no run with its evaluation.", model, version)
		return out, nil
	}
	run, err := c.Runs.Get(ctx, out.RunID)
	if err != nil {
		return out, fmt.Errorf("report: run %s of %s version %s: %w", out.RunID, model, version, err)
	}
	out.RunURL = tracking.RunURL(c.BaseURL(), run.Info.ExperimentID, out.RunID)
	out.Window, _ = run.Data.Tag(tracking.TagEvalWindow)
	var buf bytes.Buffer
	path := evalArtifactDir + "/" + classify.ReportJSON
	if _, err := c.Artifacts.Download(ctx, run.Info.ArtifactURI, path, &buf); errors.Is(err, mlflowclient.ErrNotFound) {
		out.Absent = fmt.Sprintf("Run %s of %s version %s has no %s artifact.", out.RunID, model, version, path)
		return out, nil
	} else if err != nil {
		return out, fmt.Errorf("report: run %s: %s: %w", out.RunID, path, err)
	}
	var rep classify.Report
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		return out, fmt.Errorf("report: run %s: %s: %w", out.RunID, path, err)
	}
	fillClassifier(&out, &rep)
	out.Confusion = Confusion{Note: "The evaluation has no confusion matrix of the with-SNI model."}
	for _, v := range rep.Variants {
		if v.FeatureSet != classify.FeaturesSNI || v.ConfusionCSV == "" {
			continue
		}
		buf.Reset()
		path := evalArtifactDir + "/" + v.ConfusionCSV
		if _, err := c.Artifacts.Download(ctx, run.Info.ArtifactURI, path, &buf); err != nil {
			return out, fmt.Errorf("report: run %s: %s: %w", out.RunID, path, err)
		}
		labels, m, err := parseConfusion(buf.Bytes(), path)
		if err != nil {
			return out, err
		}
		out.Confusion = categoryConfusion(labels, m, appCategory)
	}
	return out, nil
}

// fillClassifier copies the report's scores per week and weakest classes.
func fillClassifier(out *Classifier, rep *classify.Report) {
	out.Weeks = rep.Weeks
	if rep.Data.Table != "" && rep.Data.Version != nil {
		out.Data = fmt.Sprintf("%s@%d", rep.Data.Table, *rep.Data.Version)
	} else {
		out.Data = rep.Data.URI
	}
	for _, v := range rep.Variants {
		row := VariantRow{FeatureSet: string(v.FeatureSet)}
		byWeek := map[string]classify.WeekReport{}
		for _, w := range v.Weeks {
			byWeek[w.Week] = w
		}
		for _, wk := range rep.Weeks {
			w, ok := byWeek[wk]
			if !ok {
				row.MacroF1 = append(row.MacroF1, Num(nan()))
				row.Accuracy = append(row.Accuracy, Num(nan()))
				row.UnknownTPR = append(row.UnknownTPR, Num(nan()))
				continue
			}
			row.MacroF1 = append(row.MacroF1, Num(round(w.Ensemble.MacroF1, 4)))
			row.Accuracy = append(row.Accuracy, Num(round(w.Ensemble.Accuracy, 4)))
			row.UnknownTPR = append(row.UnknownTPR, Num(round(float64(w.OpenSet.TPRAtFPR), 4)))
		}
		out.Variants = append(out.Variants, row)
		pc := slices.Clone(v.First.PerClass)
		pc = slices.DeleteFunc(pc, func(c classify.ClassScore) bool { return c.Support == 0 })
		slices.SortStableFunc(pc, func(a, b classify.ClassScore) int { return cmp.Compare(a.F1, b.F1) })
		for _, c := range pc[:min(weakestClasses, len(pc))] {
			out.Weakest = append(out.Weakest, ClassRow{FeatureSet: string(v.FeatureSet), Class: c.Class,
				F1: round(c.F1, 4), Precision: round(c.Precision, 4), Recall: round(c.Recall, 4), Support: c.Support})
		}
	}
}

// parseConfusion reads a confusion CSV as classify writes it: a header
// `true\predicted,<labels…>`, then one row per true label.
func parseConfusion(b []byte, name string) ([]string, [][]int64, error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("report: %s: %w", name, err)
	}
	if len(recs) == 0 || len(recs[0]) < 2 {
		return nil, nil, fmt.Errorf("report: %s: no header", name)
	}
	labels := recs[0][1:]
	if len(recs)-1 != len(labels) {
		return nil, nil, fmt.Errorf("report: %s: %d rows for %d labels", name, len(recs)-1, len(labels))
	}
	m := make([][]int64, len(labels))
	for t, rec := range recs[1:] {
		if rec[0] != labels[t] {
			return nil, nil, fmt.Errorf("report: %s: row %d: label %q, header says %q", name, t+2, rec[0], labels[t])
		}
		m[t] = make([]int64, len(labels))
		for p, s := range rec[1:] {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return nil, nil, fmt.Errorf("report: %s: row %d, column %q: count %q", name, t+2, labels[p], s)
			}
			m[t][p] = n
		}
	}
	return labels, m, nil
}

// categoryConfusion sums an app confusion matrix into categories; apps
// without a category (the unknown class, apps outside traffic_hourly) keep
// their own label.
func categoryConfusion(labels []string, m [][]int64, appCategory map[string]string) Confusion {
	group := func(app string) string {
		if c, ok := appCategory[app]; ok {
			return c
		}
		return app
	}
	seen := map[string]bool{}
	for _, l := range labels {
		seen[group(l)] = true
	}
	cats := slices.Sorted(maps.Keys(seen))
	idx := indexOf(cats)
	out := Confusion{Labels: cats, Matrix: make([][]int64, len(cats))}
	for i := range out.Matrix {
		out.Matrix[i] = make([]int64, len(cats))
	}
	for t, row := range m {
		for p, n := range row {
			out.Matrix[idx[group(labels[t])]][idx[group(labels[p])]] += n
		}
	}
	if len(appCategory) == 0 {
		out.Note = "No traffic_hourly to map apps to categories: the matrix is per app."
	}
	return out
}

// buildLineage lists the model versions of the registered models and the
// runs of the experiments, with the Delta table versions they read and
// wrote and links into the MLflow UI.
func buildLineage(ctx context.Context, c *mlflowclient.Client, models, experiments []string) (Lineage, error) {
	var out Lineage
	base := c.BaseURL()
	aliases := map[string]map[string][]string{}
	for _, name := range models {
		rm, err := c.RegisteredModels.Get(ctx, name)
		if errors.Is(err, mlflowclient.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("report: model %s: %w", name, err)
		}
		aliases[name] = map[string][]string{}
		for _, a := range rm.Aliases {
			aliases[name][a.Version] = append(aliases[name][a.Version], a.Alias)
		}
		var vs []VersionRow
		for mv, err := range c.ModelVersions.Search(ctx, &mlflowclient.ModelVersionSearchOptions{Filter: fmt.Sprintf("name = '%s'", name)}) {
			if err != nil {
				return out, fmt.Errorf("report: versions of %s: %w", name, err)
			}
			v := VersionRow{Model: name, Version: mv.Version, Aliases: aliases[name][mv.Version], Created: mv.CreationTimestamp,
				URL: tracking.ModelVersionURL(base, name, mv.Version), RunID: mv.RunID,
				Tables: map[string]int64{}, Scores: map[string]float64{}}
			slices.Sort(v.Aliases)
			for _, t := range mv.Tags {
				switch {
				case t.Key == tracking.TagEvalWindow:
					v.Window = t.Value
				case strings.HasPrefix(t.Key, tracking.TagTablePrefix) && strings.HasSuffix(t.Key, tracking.TagTableSuffix):
					if n, err := strconv.ParseInt(t.Value, 10, 64); err == nil {
						v.Tables[strings.TrimSuffix(strings.TrimPrefix(t.Key, tracking.TagTablePrefix), tracking.TagTableSuffix)] = n
					}
				case slices.Contains(tracking.HeadlineMetrics, t.Key):
					if f, err := strconv.ParseFloat(t.Value, 64); err == nil {
						v.Scores[t.Key] = round(f, 4)
					}
				}
			}
			if mv.RunID != "" {
				if run, err := c.Runs.Get(ctx, mv.RunID); err == nil {
					v.RunURL = tracking.RunURL(base, run.Info.ExperimentID, mv.RunID)
				}
			}
			vs = append(vs, v)
		}
		slices.SortFunc(vs, func(a, b VersionRow) int { return cmp.Compare(atoi(b.Version), atoi(a.Version)) })
		out.Versions = append(out.Versions, vs[:min(maxVersions, len(vs))]...)
	}
	for _, name := range experiments {
		exp, err := c.Experiments.GetByName(ctx, name)
		if errors.Is(err, mlflowclient.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("report: experiment %s: %w", name, err)
		}
		n := 0
		for run, err := range c.Runs.Search(ctx, &mlflowclient.RunSearchOptions{ExperimentIDs: []string{exp.ID},
			OrderBy: []string{"attributes.start_time DESC"}, PageSize: maxRuns}) {
			if err != nil {
				return out, fmt.Errorf("report: runs of %s: %w", name, err)
			}
			r := RunRow{Experiment: name, RunID: run.Info.RunID, Name: run.Info.RunName, Status: string(run.Info.Status),
				URL: tracking.RunURL(base, exp.ID, run.Info.RunID), Start: run.Info.StartTime,
				Inputs: tableTags(run.Data, tracking.TagTablePrefix), Outputs: tableTags(run.Data, tracking.TagOutputPrefix)}
			r.Kind, _ = run.Data.Tag(tracking.TagKind)
			out.Runs = append(out.Runs, r)
			if n++; n == maxRuns {
				break
			}
		}
	}
	if len(out.Versions) == 0 && len(out.Runs) == 0 {
		out.Absent = fmt.Sprintf("MLflow at %s has no versions of %s and no runs in %s yet.", base,
			strings.Join(models, ", "), strings.Join(experiments, ", "))
	}
	return out, nil
}

// tableTags returns the Delta versions named by a run's tags
// <prefix><table>.version.
func tableTags(d mlflowclient.RunData, prefix string) map[string]int64 {
	out := map[string]int64{}
	for _, t := range d.Tags {
		if name, ok := strings.CutPrefix(t.Key, prefix); ok {
			if name, ok := strings.CutSuffix(name, tracking.TagTableSuffix); ok {
				if n, err := strconv.ParseInt(t.Value, 10, 64); err == nil {
					out[name] = n
				}
			}
		}
	}
	return out
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
