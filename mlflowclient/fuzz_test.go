package mlflowclient

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeResponse feeds arbitrary statuses and bodies to the one decoder
// of server answers, for each response shape the client reads.
func FuzzDecodeResponse(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"run":{"info":{"run_id":"r","start_time":"1700000000000","status":"RUNNING"},"data":{"metrics":[{"key":"m","value":"NaN","timestamp":1,"step":"2"}]}}}`},
		{200, `{"model_version":{"name":"m","version":"1","status":"READY","aliases":["champion"],"creation_timestamp":1}}`},
		{200, `{"registered_model":{"name":"m","aliases":[{"alias":"champion","version":"1"}]}}`},
		{200, `{"files":[{"path":"a","is_dir":false,"file_size":"34"}]}`},
		{200, `{"metrics":[{"key":"m","value":1.7976931348623157e+308,"timestamp":2,"step":1}],"next_page_token":"eyJvZmZzZXQiOiAyfQ=="}`},
		{200, ""},
		{200, "<html>"},
		{400, `{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"}`},
		{404, `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "nope"}`},
		{503, "Endpoint disabled due to `--no-serve-artifacts`"},
		{401, "\xff\xfe<html>"},
		{500, `{"error_code": 5, "message": ["x"]}`},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		var any struct {
			Run             *Run             `json:"run"`
			ModelVersion    *ModelVersion    `json:"model_version"`
			RegisteredModel *RegisteredModel `json:"registered_model"`
			Experiment      *Experiment      `json:"experiment"`
			Files           []FileInfo       `json:"files"`
			Metrics         []Metric         `json:"metrics"`
			NextPageToken   string           `json:"next_page_token"`
		}
		err := decodeResponse("GET", "/r", status, body, &any)
		if status >= 200 && status <= 299 {
			var ae *APIError
			if errors.As(err, &ae) {
				t.Fatalf("2xx answer gave *APIError: %v", err)
			}
			if err == nil {
				// Whatever decoded must encode again (NaN and ±Inf included).
				if _, merr := json.Marshal(any); merr != nil {
					t.Fatalf("decoded value does not re-encode: %v", merr)
				}
			}
			return
		}
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("status %d gave %T %v, want *APIError", status, err, err)
		}
		if ae.StatusCode != status {
			t.Fatalf("StatusCode = %d, want %d", ae.StatusCode, status)
		}
		if !utf8.ValidString(ae.Message) || len(ae.Message) > 2000+len("…") {
			t.Fatalf("message not valid UTF-8 or too long (%d bytes)", len(ae.Message))
		}
		if errors.Is(err, ErrNotFound) && errors.Is(err, ErrAlreadyExists) {
			t.Fatal("matches both sentinels")
		}
		if !strings.HasPrefix(ae.Error(), "mlflowclient: GET /r: ") {
			t.Fatalf("Error() = %q", ae.Error())
		}
	})
}
