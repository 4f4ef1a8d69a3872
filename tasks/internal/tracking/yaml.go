package tracking

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// MLmodel is an MLmodel document: nested maps (map[string]any), lists
// ([]any) and scalars (string, json.Number, bool, nil), as JSON decodes it.
type MLmodel map[string]any

func parseMLmodelJSON(b []byte) (MLmodel, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m MLmodel
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("tracking: MLmodel: %w", err)
	}
	if _, ok := m["flavors"].(map[string]any); !ok {
		return nil, fmt.Errorf("tracking: MLmodel: no flavors")
	}
	return m, nil
}

// JSON returns the document as JSON (the model_json of runs/log-model),
// keys sorted.
func (m MLmodel) JSON() ([]byte, error) {
	b, err := json.Marshal(map[string]any(m))
	if err != nil {
		return nil, fmt.Errorf("tracking: MLmodel: %w", err)
	}
	return b, nil
}

// YAML returns the document as the MLmodel file: block mappings with keys
// sorted as yaml.safe_dump sorts them, block sequences, and scalars in JSON
// form (a JSON string is a valid double-quoted YAML scalar).
func (m MLmodel) YAML() ([]byte, error) {
	var b bytes.Buffer
	if err := writeYAMLMap(&b, m, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var plainYAMLKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

func writeYAMLMap(b *bytes.Buffer, m map[string]any, indent int) error {
	pad := bytes.Repeat([]byte("  "), indent)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key := k
		if !plainYAMLKey.MatchString(k) {
			key = strconv.Quote(k)
		}
		b.Write(pad)
		b.WriteString(key)
		b.WriteByte(':')
		switch v := m[k].(type) {
		case map[string]any:
			if len(v) == 0 {
				b.WriteString(" {}\n")
				continue
			}
			b.WriteByte('\n')
			if err := writeYAMLMap(b, v, indent+1); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				b.WriteString(" []\n")
				continue
			}
			b.WriteByte('\n')
			for _, item := range v {
				s, err := yamlScalar(k, item)
				if err != nil {
					return err
				}
				b.Write(pad)
				b.WriteString("- ")
				b.WriteString(s)
				b.WriteByte('\n')
			}
		default:
			s, err := yamlScalar(k, v)
			if err != nil {
				return err
			}
			b.WriteByte(' ')
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	return nil
}

func yamlScalar(key string, v any) (string, error) {
	switch v.(type) {
	case nil, string, bool, json.Number, int, int64, float64:
		s, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("tracking: MLmodel field %q: %w", key, err)
		}
		return string(s), nil
	}
	return "", fmt.Errorf("tracking: MLmodel field %q: cannot write a %T", key, v)
}
