package deltaio

import (
	"context"
	"reflect"
	"sync"

	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// rowType rewrites a data file without the rows of some days.
type rowType interface {
	rewrite(ctx context.Context, tab *lakehouse.Table, a lakehouse.Add, dayCol string, drop map[string]bool) (adds []lakehouse.Add, dropped int64, err error)
}

var (
	rowTypesMu sync.Mutex
	rowTypes   = map[string]rowType{}
)

// RegisterRowType registers the row type of a table under a name, so that
// a replace-days commit (CommitSpec.RowType) can rewrite files that hold
// other days too. Call it from init().
func RegisterRowType[T any](name string) {
	rowTypesMu.Lock()
	defer rowTypesMu.Unlock()
	rowTypes[name] = typed[T]{}
}

type typed[T any] struct{}

func (typed[T]) rewrite(ctx context.Context, tab *lakehouse.Table, a lakehouse.Add, dayCol string, drop map[string]bool) ([]lakehouse.Add, int64, error) {
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		return nil, 0, err
	}
	parts := snap.Metadata.PartitionColumns
	idx, err := fieldsOf(reflect.TypeFor[T](), []string{dayCol})
	if err != nil {
		return nil, 0, err
	}
	day := func(r *T) string { return reflect.ValueOf(r).Elem().FieldByIndex(idx[0]).String() }
	// First pass: does the file hold any of the days at all?
	var dropped int64
	for r, err := range ReadFile[T](ctx, tab, parts, a) {
		if err != nil {
			return nil, 0, err
		}
		if drop[day(&r)] {
			dropped++
		}
	}
	if dropped == 0 {
		return nil, 0, nil
	}
	buf, err := NewBuffer[T](ctx, tab, 0, 0)
	if err != nil {
		return nil, 0, err
	}
	for r, err := range ReadFile[T](ctx, tab, parts, a) {
		if err != nil {
			return nil, 0, err
		}
		if drop[day(&r)] {
			continue
		}
		if err := buf.Add(ctx, r); err != nil {
			return nil, 0, err
		}
	}
	adds, err := buf.Close(ctx)
	return adds, dropped, err
}
