package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBundleTables(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest string // "": no manifest.json
		want     map[string]int64
		err      bool
	}{
		{"lake data", `{"format": "x", "data": {"kind": "delta", "uri": "s3://b/lake/flow_features", "table": "flow_features", "version": 7}}`,
			map[string]int64{"flow_features": 7}, false},
		{"version 0", `{"data": {"kind": "delta", "table": "flow_features", "version": 0}}`, map[string]int64{"flow_features": 0}, false},
		{"raw data", `{"data": {"kind": "raw", "uri": "/data/raw", "files": 3}}`, nil, false},
		{"no manifest", "", nil, false},
		{"bad manifest", `{`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(tc.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := bundleTables(dir)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error: %v", err, tc.err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("tables (-want +got):\n%s", d)
			}
		})
	}
}

func TestXGBVersion(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		body   string
		want   string
		wantOK bool
	}{
		{`{"learner": {}, "version": [1, 7, 4]}`, "1.7.4", true},
		{`{"version": [2, 1]}`, "", false},
		{`not json`, "", false},
	}
	for i, tc := range tests {
		p := filepath.Join(dir, "model.json")
		if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		got, ok := xgbVersion(p)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("case %d: xgbVersion = %q, %v; want %q, %v", i, got, ok, tc.want, tc.wantOK)
		}
	}
	if _, ok := xgbVersion(filepath.Join(dir, "missing.json")); ok {
		t.Error("xgbVersion of a missing file succeeded")
	}
}

func TestBundleHash(t *testing.T) {
	write := func(dir string, files map[string]string) string {
		for p, body := range files {
			p = filepath.Join(dir, p)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		h, err := bundleHash(dir)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a := write(t.TempDir(), map[string]string{"manifest.json": "{}", "xgb/model.json": "m"})
	b := write(t.TempDir(), map[string]string{"xgb/model.json": "m", "manifest.json": "{}"})
	c := write(t.TempDir(), map[string]string{"manifest.json": "{}", "xgb/model.json": "n"})
	d := write(t.TempDir(), map[string]string{"manifest.json": "{}", "xgb/other.json": "m"})
	if a != b {
		t.Error("the same content written again hashes differently")
	}
	e := write(t.TempDir(), map[string]string{"manifest.json": "{}", "xgb/model.json": "m", "MLmodel": "run_id: x"})
	if a != e {
		t.Error("the MLmodel file (written when logging) changes the hash")
	}
	if a == c || a == d {
		t.Error("different content (bytes or names) hashes the same")
	}
}
