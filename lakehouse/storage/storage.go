// Package storage owns the object stores a lakehouse table lives on: a small
// Storage interface and its local-filesystem and S3 implementations.
//
// Keys are slash-separated paths relative to the store's root (for example
// "_delta_log/00000000000000000003.json"). Every implementation provides an
// atomic PutIfAbsent, which is what makes Delta commits safe between
// concurrent writers:
//
//   - local filesystem: the object is written to a hidden temporary file,
//     fsynced, then hard-linked (link(2)) to its final name; link fails with
//     EEXIST when another writer won, and a reader never sees a partial file;
//   - S3: PutObject with If-None-Match: "*"; 412 Precondition Failed means
//     the key exists.
//
// Open picks the implementation from a lake URI: a plain path or file://URI
// (local), or s3://bucket/prefix (S3, configured by S3Options; FromEnv
// builds those options from the usual AWS_* environment variables for the
// caller, the library itself never reads the environment).
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrExist is returned by PutIfAbsent when the key already exists.
	ErrExist = errors.New("storage: object already exists")
	// ErrNotExist is returned when a key does not exist.
	ErrNotExist = errors.New("storage: object does not exist")
	// ErrNoBucket is returned when the S3 bucket itself does not exist.
	ErrNoBucket = errors.New("storage: bucket does not exist")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string // relative to the store root, slash-separated
	Size    int64
	ModTime time.Time
}

// Reader is an open object: random access for Parquet footers and column
// chunks, plus its size.
type Reader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Storage is the object store under one table or lake root.
type Storage interface {
	// Get returns the whole object.
	Get(ctx context.Context, key string) ([]byte, error)
	// Open returns a random-access reader of the object.
	Open(ctx context.Context, key string) (Reader, error)
	// Put writes the object, replacing any previous one. It is atomic for
	// readers: they see the old or the new content, never a mix.
	Put(ctx context.Context, key string, data []byte) error
	// PutIfAbsent writes the object only if the key does not exist yet; it
	// returns an error wrapping ErrExist otherwise. Atomic across writers.
	PutIfAbsent(ctx context.Context, key string, data []byte) error
	// List returns the objects whose key starts with prefix and sorts after
	// startAfter (empty: no bound), in lexicographic key order.
	List(ctx context.Context, prefix, startAfter string) ([]ObjectInfo, error)
	// Stat returns size and modification time of one object.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URI names the root, for messages and for peers (delta-rs) that open
	// the same table.
	URI() string
}

// Options configures Open.
type Options struct {
	S3 S3Options
}

// Open returns the Storage for a lake URI: "/abs/path", "rel/path",
// "file:///abs/path" or "s3://bucket/prefix".
func Open(ctx context.Context, uri string, opts Options) (Storage, error) {
	switch {
	case strings.HasPrefix(uri, "s3://"):
		u, err := url.Parse(uri)
		if err != nil {
			return nil, fmt.Errorf("storage: parse %q: %w", uri, err)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("storage: %q: missing bucket", uri)
		}
		o := opts.S3
		o.Bucket = u.Host
		o.Prefix = strings.Trim(u.Path, "/")
		return NewS3(ctx, o)
	case strings.HasPrefix(uri, "file://"):
		u, err := url.Parse(uri)
		if err != nil {
			return nil, fmt.Errorf("storage: parse %q: %w", uri, err)
		}
		return NewLocal(u.Path)
	case strings.Contains(uri, "://"):
		return nil, fmt.Errorf("storage: unsupported URI scheme in %q", uri)
	default:
		return NewLocal(uri)
	}
}

// Join joins a root key prefix and a key with exactly one slash.
func Join(prefix, key string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return key
	}
	return prefix + "/" + key
}
