package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsLocal reports whether uri names a local folder (a plain path or a
// file:// URI) and returns that folder.
func IsLocal(uri string) (string, bool) {
	switch {
	case strings.HasPrefix(uri, "file://"):
		return strings.TrimPrefix(uri, "file://"), true
	case strings.Contains(uri, "://"):
		return "", false
	}
	return uri, true
}

// SplitURI splits the URI of a file (a path, file:// or s3://bucket/key)
// into its folder's URI and its name: "s3://b/r.html" gives "s3://b" and
// "r.html", "/r.html" gives "/", "r.html" gives ".".
func SplitURI(uri string) (dir, name string) {
	i := strings.LastIndex(uri, "/")
	if i < 0 {
		return ".", uri
	}
	dir = uri[:i]
	if dir == "" || strings.HasSuffix(dir, ":/") || strings.HasSuffix(dir, ":") {
		dir += "/"
	}
	return dir, uri[i+1:]
}

// JoinURI appends slash-separated elements to a lake URI or local path.
func JoinURI(uri string, elem ...string) string {
	out := strings.TrimRight(uri, "/")
	for _, e := range elem {
		if e = strings.Trim(e, "/"); e != "" {
			out += "/" + e
		}
	}
	return out
}

// PutDir copies the folder tree dir into s: every regular file becomes the
// object of its slash-separated relative path. The files named in last
// (relative paths) are written after all others, so a reader that looks
// for them first (a manifest) finds a complete tree; objects of s that dir
// does not hold are deleted at the end, so s mirrors dir. It returns the
// number of files written.
func PutDir(ctx context.Context, s Storage, dir string, last ...string) (int, error) {
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: put dir %s: %w", dir, err)
	}
	slices.SortStableFunc(keys, func(a, b string) int {
		la, lb := slices.Contains(last, a), slices.Contains(last, b)
		switch {
		case la == lb:
			return strings.Compare(a, b)
		case la:
			return 1
		}
		return -1
	})
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k)))
		if err != nil {
			return 0, fmt.Errorf("storage: put dir %s: %w", dir, err)
		}
		if err := s.Put(ctx, k, b); err != nil {
			return 0, fmt.Errorf("storage: put dir %s into %s: %w", dir, s.URI(), err)
		}
	}
	old, err := s.List(ctx, "", "")
	if err != nil {
		return 0, err
	}
	for _, o := range old {
		if !slices.Contains(keys, o.Key) && !strings.HasPrefix(o.Key, tmpDir+"/") {
			if err := s.Delete(ctx, o.Key); err != nil {
				return 0, err
			}
		}
	}
	return len(keys), nil
}

// GetDir copies every object of s into the folder dir (created if needed)
// and returns how many it copied; a store without objects is ErrNotExist.
func GetDir(ctx context.Context, s Storage, dir string) (int, error) {
	objs, err := s.List(ctx, "", "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range objs {
		if strings.HasPrefix(o.Key, tmpDir+"/") {
			continue
		}
		b, err := s.Get(ctx, o.Key)
		if err != nil {
			return n, err
		}
		p := filepath.Join(dir, filepath.FromSlash(o.Key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return n, fmt.Errorf("storage: get dir: %w", err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return n, fmt.Errorf("storage: get dir: %w", err)
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("storage: %s: no objects: %w", s.URI(), ErrNotExist)
	}
	return n, nil
}

// OpenExisting opens uri like Open but refuses a local folder that does not
// exist (Open would create it), with an error wrapping ErrNotExist.
func OpenExisting(ctx context.Context, uri string, opts Options) (Storage, error) {
	if p, ok := IsLocal(uri); ok {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("storage: %s: no such folder: %w", uri, ErrNotExist)
		}
	}
	return Open(ctx, uri, opts)
}

// LocalCopy returns a local folder holding the tree at uri, for code that
// needs files (libraries loading a model from a path): a local uri is
// returned as is; otherwise the objects are copied into a new temporary
// folder that cleanup removes.
func LocalCopy(ctx context.Context, uri string, opts Options) (dir string, cleanup func(), err error) {
	if p, ok := IsLocal(uri); ok {
		if _, err := os.Stat(p); err != nil {
			return "", nil, fmt.Errorf("storage: %s: %w", uri, ErrNotExist)
		}
		return p, func() {}, nil
	}
	s, err := Open(ctx, uri, opts)
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "telco-copy-*")
	if err != nil {
		return "", nil, fmt.Errorf("storage: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	if _, err := GetDir(ctx, s, tmp); err != nil {
		cleanup()
		return "", nil, err
	}
	return tmp, cleanup, nil
}

// ReadFile returns the object at a URI (a local file path or
// s3://bucket/key).
func ReadFile(ctx context.Context, uri string, opts Options) ([]byte, error) {
	if p, ok := IsLocal(uri); ok {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("storage: %s: %w", uri, ErrNotExist)
		}
		return b, err
	}
	dir, key := SplitURI(uri)
	s, err := Open(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, key)
}

// WriteFile writes the object at a URI (a local file path, its folder
// created, or s3://bucket/key), replacing it atomically.
func WriteFile(ctx context.Context, uri string, data []byte, opts Options) error {
	if p, ok := IsLocal(uri); ok {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		return nil
	}
	dir, key := SplitURI(uri)
	s, err := Open(ctx, dir, opts)
	if err != nil {
		return err
	}
	return s.Put(ctx, key, data)
}
