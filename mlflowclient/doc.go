// Package mlflowclient is a client for the MLflow tracking server's REST API
// (MLflow has no official Go client). It owns the wire format of every call the
// project makes to MLflow: experiments, runs and their batch logging, artifacts
// through the tracking server's proxied artifact API, the model registry
// (registered models, model versions, aliases) and the MLmodel file that lets
// Python MLflow load a Go-trained XGBoost model.
//
// The layout follows google/go-github: a [Client] holds one service per API
// area ([Client.Experiments], [Client.Runs], [Client.Artifacts],
// [Client.RegisteredModels], [Client.ModelVersions]), each method takes a
// context first and documents its REST route, and errors from the server are
// returned as [*APIError]:
//
//	exp, err := c.Experiments.GetByName(ctx, "svc-clf")
//	if errors.Is(err, mlflowclient.ErrNotFound) { ... }
//
// # Wire facts the client relies on (checked against MLflow 3.7.0)
//
//   - GET parameters travel in the query string, everything else as a JSON
//     body with Content-Type application/json (the server refuses others).
//   - int64 fields (timestamps in milliseconds, steps, sizes) are JSON numbers;
//     the decoder also accepts them as strings.
//   - Metric values NaN, +Inf and -Inf travel as the strings "NaN", "Infinity"
//     and "-Infinity" (protobuf JSON). The SQL store keeps NaN but stores ±Inf
//     as ±math.MaxFloat64, so that is what reads return.
//   - Errors are {"error_code": "...", "message": "..."}. Already-exists is
//     HTTP 400, not 409; a missing alias is 400 INVALID_PARAMETER_VALUE; a
//     missing artifact is 500 INTERNAL_ERROR. The client maps all three onto
//     [ErrAlreadyExists] and [ErrNotFound] so callers need not know.
//   - Paged endpoints must be sent max_results: MLflow 3.7's get-history
//     answers an empty page with a bogus token when it is absent.
//   - Artifact uploads must carry Content-Length: with chunked transfer
//     encoding the server stores an empty file and answers 200.
//
// Retries: only idempotent calls (GET, PUT of an artifact, DELETE, and POSTs
// that overwrite state such as set-tag, set-alias, runs/update and searches)
// are retried, on transport errors and on HTTP 429, 500, 502, 503 and 504,
// with capped exponential backoff that honours Retry-After. Creations and
// log-batch (metrics are append-only) are sent once.
package mlflowclient
