package tracking

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// ResolveAlias returns the version of a registered model an alias points at
// (models:/<name>@<alias>).
func ResolveAlias(ctx context.Context, c *mlflowclient.Client, name, alias string) (*mlflowclient.ModelVersion, error) {
	mv, err := c.RegisteredModels.GetVersionByAlias(ctx, name, alias)
	if err != nil {
		return nil, fmt.Errorf("tracking: models:/%s@%s: %w", name, alias, err)
	}
	return mv, nil
}

// DownloadVersion copies the files of a model version (its bundle, the
// MLmodel file included) into dir and returns how many it copied.
func DownloadVersion(ctx context.Context, c *mlflowclient.Client, mv *mlflowclient.ModelVersion, dir string) (int, error) {
	src := mv.Source
	if src == "" {
		return 0, fmt.Errorf("tracking: %s version %s has no source", mv.Name, mv.Version)
	}
	n, err := downloadTree(ctx, c, src, "", dir)
	if err == nil && n == 0 {
		err = errors.New("no files")
	}
	if err != nil {
		return n, fmt.Errorf("tracking: download %s version %s from %s: %w", mv.Name, mv.Version, src, err)
	}
	return n, nil
}

func downloadTree(ctx context.Context, c *mlflowclient.Client, root, rel, dir string) (int, error) {
	files, err := c.Artifacts.List(ctx, root, rel)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		if f.IsDir {
			m, err := downloadTree(ctx, c, root, f.Path, dir)
			n += m
			if err != nil {
				return n, err
			}
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return n, err
		}
		out, err := os.Create(p)
		if err != nil {
			return n, err
		}
		_, err = c.Artifacts.Download(ctx, root, f.Path, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// LatestVersion returns the newest version of a registered model, or nil
// when the model or its versions do not exist.
func LatestVersion(ctx context.Context, c *mlflowclient.Client, name string) (*mlflowclient.ModelVersion, error) {
	var latest *mlflowclient.ModelVersion
	for v, err := range c.ModelVersions.Search(ctx, &mlflowclient.ModelVersionSearchOptions{Filter: "name = " + quote(name)}) {
		if errors.Is(err, mlflowclient.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("tracking: versions of %s: %w", name, err)
		}
		if latest == nil || versionNumber(v.Version) > versionNumber(latest.Version) {
			latest = v
		}
	}
	return latest, nil
}
