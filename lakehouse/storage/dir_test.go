package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

func writeTree(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for k, v := range files {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readTree(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDirs copies folder trees to local and S3 URIs and back, replacing
// a previous tree, and reads and writes single files by URI.
func TestDirs(t *testing.T) {
	ctx := context.Background()
	_, opts := testenv.StartS3(t, "art")
	for name, root := range map[string]string{"local": t.TempDir(), "s3": "s3://art/models"} {
		t.Run(name, func(t *testing.T) {
			uri := storage.JoinURI(root, "/bundle/")
			s, err := storage.Open(ctx, uri, opts)
			if err != nil {
				t.Fatal(err)
			}
			old := map[string]string{"manifest.json": "{1}", "stale/x.bin": "x"}
			if _, err := storage.PutDir(ctx, s, writeTree(t, old), "manifest.json"); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"manifest.json": "{2}", "xgb/model.json": "trees", "seqnet/w.safetensors": "w"}
			n, err := storage.PutDir(ctx, s, writeTree(t, want), "manifest.json")
			if err != nil || n != 3 {
				t.Fatalf("PutDir = %d, %v", n, err)
			}
			dir, cleanup, err := storage.LocalCopy(ctx, uri, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, readTree(t, dir)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
			cleanup()
			if err := storage.WriteFile(ctx, storage.JoinURI(root, "reports", "report.json"), []byte("{}"), opts); err != nil {
				t.Fatal(err)
			}
			if b, err := storage.ReadFile(ctx, storage.JoinURI(root, "reports", "report.json"), opts); err != nil || string(b) != "{}" {
				t.Errorf("ReadFile = %q, %v", b, err)
			}
			if _, err := storage.ReadFile(ctx, storage.JoinURI(root, "reports", "none.json"), opts); !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("ReadFile of a missing object: %v, want ErrNotExist", err)
			}
			if _, _, err := storage.LocalCopy(ctx, storage.JoinURI(root, "nothing"), opts); !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("LocalCopy of a missing tree: %v, want ErrNotExist", err)
			}
		})
	}
}

func TestSplitURI(t *testing.T) {
	for uri, want := range map[string][2]string{
		"s3://bucket/reports/r.html": {"s3://bucket/reports", "r.html"},
		"s3://bucket/r.html":         {"s3://bucket", "r.html"},
		"/tmp/x/r.html":              {"/tmp/x", "r.html"},
		"/r.html":                    {"/", "r.html"},
		"r.html":                     {".", "r.html"},
		"file:///tmp/r.html":         {"file:///tmp", "r.html"},
	} {
		dir, name := storage.SplitURI(uri)
		if [2]string{dir, name} != want {
			t.Errorf("SplitURI(%q) = %q, %q; want %q", uri, dir, name, want)
		}
	}
}
