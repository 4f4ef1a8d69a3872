//go:build linux

package deltaio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// syncOnCommit wraps a local store so that data files are written without
// an fsync each and the whole file system is flushed once (syncfs(2))
// before a commit file is created.
//
// Why: storage.Local fsyncs every object it puts. A week partitioned by
// week and app is ~1,000 small data files, and on this machine's disk the
// fsyncs, which serialise, took most of the parse job's wall time. A data
// file only has to be durable before a commit references it, so one syncfs
// before each put-if-absent of a commit gives the same guarantee. (Local
// lakes are single-machine: every worker writes to the file system the
// commit step flushes.) Log files and checkpoints keep lakehouse's own
// writes.
type syncOnCommit struct {
	storage.Storage
	root string
}

func wrapLocal(st storage.Storage) storage.Storage {
	if l, ok := st.(*storage.Local); ok {
		return &syncOnCommit{Storage: st, root: l.Root()}
	}
	return st
}

const logPrefix = "_delta_log/"

// Put writes data files through a temporary file and a rename (readers
// never see a partial file) without fsync.
func (s *syncOnCommit) Put(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, logPrefix) || strings.HasPrefix(key, "_") || strings.HasPrefix(key, ".") {
		return s.Storage.Put(ctx, key, data)
	}
	p := filepath.Join(s.root, filepath.FromSlash(key))
	if rel, err := filepath.Rel(s.root, p); err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("deltaio: invalid key %q", key)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("deltaio: %w", err)
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(p), ".tmp-"+hex.EncodeToString(rnd[:]))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("deltaio: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("deltaio: %w", err)
	}
	return nil
}

// PutIfAbsent flushes the file system (the data files a commit names)
// before creating a commit file.
func (s *syncOnCommit) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, logPrefix) {
		if err := syncFS(s.root); err != nil {
			return err
		}
	}
	return s.Storage.PutIfAbsent(ctx, key, data)
}

func syncFS(dir string) error {
	// syncfs flushes the whole file system: any folder on it will do, and a
	// new table's root does not exist before its first file.
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("deltaio: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("deltaio: syncfs %s: %w", dir, err)
	}
	return nil
}
