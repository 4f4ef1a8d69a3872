package mlflowclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinels matched with errors.Is against the errors this package returns.
var (
	// ErrNotFound: the experiment, run, model, version, alias or artifact
	// does not exist (MLflow's RESOURCE_DOES_NOT_EXIST, among others).
	ErrNotFound = errors.New("mlflowclient: not found")
	// ErrAlreadyExists: a create named something that exists
	// (RESOURCE_ALREADY_EXISTS, which MLflow sends as HTTP 400).
	ErrAlreadyExists = errors.New("mlflowclient: already exists")
)

// APIError is a non-2xx answer of the tracking server.
type APIError struct {
	Method     string // HTTP method of the call
	Route      string // path of the call, e.g. /api/2.0/mlflow/runs/create
	StatusCode int    // HTTP status
	ErrorCode  string // MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST; "" if the body was not MLflow JSON
	Message    string // MLflow's message, or the start of a non-JSON body

	// kind overrides the sentinel derived from ErrorCode, for answers whose
	// code is too generic (a missing alias is INVALID_PARAMETER_VALUE).
	kind error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mlflowclient: %s %s: %d", e.Method, e.Route, e.StatusCode)
	if e.ErrorCode != "" {
		b.WriteString(" " + e.ErrorCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is matches [ErrNotFound] and [ErrAlreadyExists].
func (e *APIError) Is(target error) bool {
	if e.kind != nil {
		return target == e.kind
	}
	switch target {
	case ErrNotFound:
		switch e.ErrorCode {
		case "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND":
			return true
		case "":
			return e.StatusCode == http.StatusNotFound
		}
	case ErrAlreadyExists:
		return e.ErrorCode == "RESOURCE_ALREADY_EXISTS" || e.ErrorCode == "ALREADY_EXISTS"
	}
	return false
}

// newAPIError decodes an error answer. MLflow writes
// {"error_code": "...", "message": "..."}; proxies, the auth app and
// servers with artifact serving disabled answer plain text or HTML, which is
// kept (shortened) as the message.
func newAPIError(method, route string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Route: route, StatusCode: status}
	var wire struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(body, &wire); err == nil && (wire.ErrorCode != "" || wire.Message != "") {
		e.ErrorCode, e.Message = wire.ErrorCode, shorten(wire.Message, 2000)
		return e
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = shorten(msg, 500)
	return e
}

// shorten cuts s to at most n bytes on a rune boundary and makes it valid
// UTF-8, so messages from odd bodies stay printable.
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// asNotFound marks err as [ErrNotFound] when it is an *APIError, for answers
// whose error_code alone does not say so.
func asNotFound(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		ae.kind = ErrNotFound
	}
	return err
}
