// Package tracking is how task binaries use MLflow: it owns the run
// conventions (the tags that make a Go run look native in the MLflow UI and
// name the Delta table versions a model learned from), logging of params,
// per-round metric histories, model bundles and evaluation artifacts, and the
// model registry steps that follow training: registering a run's bundle as a
// model version with the "challenger" alias, and promoting a challenger to
// "champion" when it beats the champion on the same later time window.
//
// It speaks to the tracking server through [mlflowclient]; it does not read
// the environment itself — [ConfigFromEnv] takes a lookup function.
//
// # Runs
//
//	cfg, _ := tracking.ConfigFromEnv(os.Getenv)
//	tr, _ := tracking.New(cfg)
//	run, _ := tr.StartRun(ctx, "", "train-2022-W12", tracking.RunTags{
//		Kind: tracking.Classifier, Tables: map[string]int64{"flow_features": 7}})
//	defer func() { err = run.EndWith(context.WithoutCancel(ctx), err) }()
//	run.LogParams(ctx, map[string]string{"rounds": "30"})
//	run.LogHistory(ctx, "valid_mlogloss", losses) // steps 0..n-1: a curve in the UI
//	run.LogBundle(ctx, bundleDir, tracking.ModelSpec{...})
//	run.LogArtifacts(ctx, reportDir, "evaluation") // report.json and the confusion CSV
//	run.LogEvaluation(ctx, tracking.Evaluation{Window: "2022-W13", Scores: ...})
//
// # Where things live
//
// A run carries these tags besides MLflow's own (mlflow.runName,
// mlflow.source.name, mlflow.source.type, mlflow.source.git.commit,
// mlflow.user):
//
//	telcotraffic.kind                   classifier | forecaster
//	telcotraffic.table.<name>.version   Delta version of each input table
//	telcotraffic.output.<name>.version  Delta version of each table written
//	telcotraffic.eval.window            the held-out later window scored
//
// Scores are run metrics at step 0 (macro_f1, mase, …), per-class recall is
// metrics class_recall/<class> (the "/" gives them a chart section of their
// own in the UI), and the model bundle is the artifact
// directory model/ with an MLmodel file declaring MLflow's xgboost and
// python_function flavors for the tree member and our telcotraffic flavor for
// the whole bundle, so mlflow.xgboost.load_model loads the Go-trained trees.
//
// Registering copies the kind, table versions, window and headline scores
// onto the model version as tags. Promotion reads each version's evaluation
// from the run named by its tag telcotraffic.eval.run_id (a later
// re-evaluation), else from the run that produced it; version tags of the
// same names take precedence over the run. Decisions are written back as
// telcotraffic.promotion.* tags on the challenger's version and run.
package tracking
