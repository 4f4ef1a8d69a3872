//go:build !linux

package deltaio

import "github.com/telcotraffic/telcotraffic/lakehouse/storage"

// wrapLocal keeps lakehouse's per-file fsync where syncfs(2) is missing.
func wrapLocal(st storage.Storage) storage.Storage { return st }
