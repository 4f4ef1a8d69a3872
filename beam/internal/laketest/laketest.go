// Package laketest reads whole Delta tables of a lake in tests.
package laketest

import (
	"context"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// Rows returns every row of the table name under lake at its latest
// version, in file order.
func Rows[T any](t testing.TB, lake, name string) []T {
	t.Helper()
	tab, err := deltaio.TableSpec{Lake: lake, Name: name}.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return TableRows[T](t, tab)
}

// TableRows returns every row of tab at its latest version, in file order.
func TableRows[T any](t testing.TB, tab *lakehouse.Table) []T {
	t.Helper()
	ctx := context.Background()
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for r, err := range lakehouse.Rows[T](ctx, tab, snap) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
