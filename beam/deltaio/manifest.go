package deltaio

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// Manifest is what one work unit (a raw day file, a group of data files)
// hands to the commit step: the data files it wrote, per table, and its
// counters. It travels through Beam as a JSON string.
type Manifest struct {
	Unit     string                     `json:"unit"`               // what was processed (for messages)
	Adds     map[string][]lakehouse.Add `json:"adds,omitempty"`     // table name -> files written
	Counters map[string]int64           `json:"counters,omitempty"` // e.g. rows_in, rows_written, rejects
	// Days are the days (YYYY-MM-DD) the unit holds, for ModeReplaceDays.
	Days []string `json:"days,omitempty"`
	// Quarantined, when set, says why the unit's input was set aside: it
	// wrote no files, and its days keep what the tables held before.
	Quarantined string `json:"quarantined,omitempty"`
	// Report is the unit's own account (JSON), kept in the commit's
	// operationParameters under ParamUnits for the driver to read back.
	Report json.RawMessage `json:"report,omitempty"`
}

// Encode renders the manifest as JSON.
func (m *Manifest) Encode() (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("deltaio: manifest %s: %w", m.Unit, err)
	}
	return string(b), nil
}

// DecodeManifest parses a manifest.
func DecodeManifest(s string) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return m, fmt.Errorf("deltaio: manifest: %w", err)
	}
	return m, nil
}

// Count adds n to a counter.
func (m *Manifest) Count(name string, n int64) {
	if m.Counters == nil {
		m.Counters = map[string]int64{}
	}
	m.Counters[name] += n
}

// AddFiles records data files written to a table.
func (m *Manifest) AddFiles(table string, adds []lakehouse.Add) {
	if m.Adds == nil {
		m.Adds = map[string][]lakehouse.Add{}
	}
	m.Adds[table] = append(m.Adds[table], adds...)
}

// merged is the union of a run's manifests.
type merged struct {
	units       []string
	adds        map[string][]lakehouse.Add
	counters    map[string]int64
	quarantined map[string]bool // days of quarantined units
	reports     []json.RawMessage
}

func mergeManifests(items []string) (merged, error) {
	out := merged{adds: map[string][]lakehouse.Add{}, counters: map[string]int64{}, quarantined: map[string]bool{}}
	ms := make([]Manifest, 0, len(items))
	for _, s := range items {
		m, err := DecodeManifest(s)
		if err != nil {
			return out, err
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b Manifest) int { return strings.Compare(a.Unit, b.Unit) })
	for _, m := range ms {
		out.units = append(out.units, m.Unit)
		if m.Report != nil {
			out.reports = append(out.reports, m.Report)
		}
		if m.Quarantined != "" {
			for _, d := range m.Days {
				out.quarantined[d] = true
			}
		}
		for t, a := range m.Adds {
			out.adds[t] = append(out.adds[t], a...)
		}
		for k, v := range m.Counters {
			out.counters[k] += v
		}
	}
	slices.Sort(out.units)
	for t := range out.adds {
		// Deterministic commit content whatever the arrival order.
		slices.SortFunc(out.adds[t], func(a, b lakehouse.Add) int {
			switch {
			case a.Path < b.Path:
				return -1
			case a.Path > b.Path:
				return 1
			}
			return 0
		})
	}
	out.counters = maps.Clone(out.counters)
	return out, nil
}
