package main

import (
	"os"
	"path/filepath"
	"testing"
)

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
