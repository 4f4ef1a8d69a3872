package mlflowclient

import (
	"context"
	"fmt"
	"iter"
)

// paginate turns a page fetcher into an iterator. Pages are fetched lazily;
// breaking out of the loop stops fetching. An error is yielded once and ends
// the iteration. A server that hands out a token it gave before would loop
// forever, so that is an error too.
func paginate[T any](ctx context.Context, fetch func(ctx context.Context, token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		token := ""
		seen := map[string]bool{}
		for {
			items, next, err := fetch(ctx, token)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if seen[next] {
				yield(zero, fmt.Errorf("mlflowclient: server repeated page token %q", shorten(next, 80)))
				return
			}
			seen[next] = true
			token = next
		}
	}
}

// pageSize returns n, or def when n is not positive. MLflow needs an explicit
// max_results on some endpoints (get-history answers an empty page without).
func pageSize(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}
