package mlflowclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Tag is a key/value pair on an experiment, run, registered model or model
// version. Tags can be overwritten.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is a run parameter. Params are write-once: logging the same key with
// another value fails.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one point of a run metric. Value may be NaN or ±Inf.
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64 // milliseconds since the Unix epoch; 0 means "now" in LogBatch
	Step      int64
}

type metricWire struct {
	Key       string    `json:"key"`
	Value     jsonFloat `json:"value"`
	Timestamp jsonInt64 `json:"timestamp"`
	Step      jsonInt64 `json:"step"`
}

// MarshalJSON writes NaN and ±Inf the way protobuf JSON does.
func (m Metric) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

// appendJSON is MarshalJSON without reflection: runs log many points.
func (m Metric) appendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = appendJSONString(b, m.Key)
	b = append(b, `,"value":`...)
	b = appendJSONFloat(b, m.Value)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, m.Timestamp, 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, m.Step, 10)
	return append(b, '}')
}

// appendJSONString appends s as encoding/json would.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // cannot fail for a string
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONFloat appends f as encoding/json would, and NaN/±Inf as
// protobuf JSON strings.
func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// UnmarshalJSON accepts numbers or strings for value, timestamp and step.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var w metricWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Metric{w.Key, float64(w.Value), int64(w.Timestamp), int64(w.Step)}
	return nil
}

// jsonFloat is a float64 in protobuf JSON: NaN and ±Inf are the strings
// "NaN", "Infinity" and "-Infinity", and numbers may come quoted.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) { return appendJSONFloat(nil, float64(f)), nil }

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
			return nil
		case "Infinity":
			*f = jsonFloat(math.Inf(1))
			return nil
		case "-Infinity":
			*f = jsonFloat(math.Inf(-1))
			return nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		// ParseFloat also takes "nan" and "inf"; protobuf JSON spells
		// them only as above, and an overflow like 1e999 is no double.
		return fmt.Errorf("mlflowclient: bad double %s", shorten(string(b), 40))
	}
	*f = jsonFloat(v)
	return nil
}

// jsonInt64 is an int64 that MLflow writes as a number (and protobuf JSON
// as a string).
type jsonInt64 int64

func (i jsonInt64) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(i), 10), nil }

func (i *jsonInt64) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Some writers render whole int64s as 1.7e12; accept exact ones.
		fv, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || fv != math.Trunc(fv) || math.Abs(fv) > 1<<53 {
			return fmt.Errorf("mlflowclient: bad int64 %s", shorten(string(b), 40))
		}
		v = int64(fv)
	}
	*i = jsonInt64(v)
	return nil
}
