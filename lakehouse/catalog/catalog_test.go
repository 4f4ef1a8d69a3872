package catalog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

type row struct {
	Week string `parquet:"week"`
	N    int64  `parquet:"n"`
}

func TestURI(t *testing.T) {
	for _, c := range []struct{ lake, want string }{
		{"/data/lake", "/data/lake/flows"},
		{"/data/lake/", "/data/lake/flows"},
		{"s3://b/p", "s3://b/p/flows"},
		{"s3://b/p//", "s3://b/p/flows"},
	} {
		if got := catalog.Flows.URI(c.lake); got != c.want {
			t.Errorf("URI(%q) = %q, want %q", c.lake, got, c.want)
		}
	}
	for _, tab := range catalog.Tables() {
		got, err := catalog.Lookup(tab.Name)
		if err != nil || got.Name != tab.Name {
			t.Errorf("Lookup(%q) = %v, %v", tab.Name, got, err)
		}
	}
	if _, err := catalog.Lookup("nope"); err == nil {
		t.Error("Lookup of an unknown table: no error")
	}
}

// TestOpen: a missing table is refused and leaves nothing behind, locally
// and on S3; an existing one opens at the latest or a pinned version.
func TestOpen(t *testing.T) {
	gw := testenv.StartGateway(t)
	gw.Bucket(t, "lake", "")
	so := storage.Options{S3: gw.Options("lake", "")}
	ctx := context.Background()
	tab := catalog.Table{Name: "t", PartitionBy: []string{"week"}, Writer: "this test"}
	for name, lake := range map[string]string{"local": filepath.Join(t.TempDir(), "lake"), "s3": "s3://lake/root"} {
		t.Run(name, func(t *testing.T) {
			_, err := tab.Open(ctx, lake, so, lakehouse.Options{})
			if !errors.Is(err, lakehouse.ErrNotTable) {
				t.Fatalf("open missing table: %v, want ErrNotTable", err)
			}
			if name == "local" {
				if _, err := os.Stat(lake); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("opening a missing table created %s (%v)", lake, err)
				}
			}
			w, err := catalog.OpenOrCreate[row](ctx, tab, lake, so, lakehouse.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if _, err := lakehouse.Append(ctx, w, []row{{Week: "2022-W01", N: int64(i)}}, nil); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct{ at, want int64 }{{catalog.Latest, 2}, {1, 1}} {
				_, snap, err := tab.OpenAt(ctx, lake, c.at, so, lakehouse.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if snap.Version != c.want {
					t.Errorf("OpenAt(%d): version %d, want %d", c.at, snap.Version, c.want)
				}
			}
			if _, _, err := tab.OpenAt(ctx, lake, 9, so, lakehouse.Options{}); err == nil {
				t.Error("OpenAt a version that does not exist: no error")
			}
		})
	}
}
