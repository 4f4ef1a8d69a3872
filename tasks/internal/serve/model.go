package serve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// DefaultModelName is the registered classifier.
const DefaultModelName = "telco-service-classifier"

// LoadModel resolves models:/<name>@<alias> through the registry, downloads
// the version's files and loads its bundles.
func LoadModel(ctx context.Context, c *mlflowclient.Client, name, alias string) (*Model, error) {
	mv, err := tracking.ResolveAlias(ctx, c, name, alias)
	if err != nil {
		return nil, err
	}
	return LoadVersion(ctx, c, mv)
}

// LoadVersion downloads a registered version's files and loads its bundles.
func LoadVersion(ctx context.Context, c *mlflowclient.Client, mv *mlflowclient.ModelVersion) (*Model, error) {
	tmp, err := os.MkdirTemp("", "telco-model-*")
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := tracking.DownloadVersion(ctx, c, mv, tmp); err != nil {
		return nil, err
	}
	m, err := LoadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("serve: %s version %s: %w", mv.Name, mv.Version, err)
	}
	m.Name, m.Version = mv.Name, mv.Version
	return m, nil
}

// LoadDir loads the bundles of a model folder: a root with sni/ and
// no-sni/ bundles, or one bundle.
func LoadDir(dir string) (*Model, error) {
	m := &Model{}
	if _, err := os.Stat(filepath.Join(dir, classify.ManifestFile)); err == nil {
		b, err := classify.LoadBundle(dir)
		if err != nil {
			return nil, err
		}
		if b.Manifest.FeatureSet == classify.FeaturesNoSNI {
			m.NoSNI = b
		} else {
			m.SNI = b
		}
		return m, nil
	}
	for _, set := range []classify.FeatureSet{classify.FeaturesSNI, classify.FeaturesNoSNI} {
		sub := filepath.Join(dir, string(set))
		if _, err := os.Stat(filepath.Join(sub, classify.ManifestFile)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		b, err := classify.LoadBundle(sub)
		if err != nil {
			m.Close()
			return nil, err
		}
		if set == classify.FeaturesSNI {
			m.SNI = b
		} else {
			m.NoSNI = b
		}
	}
	if m.SNI == nil && m.NoSNI == nil {
		return nil, fmt.Errorf("no classifier bundle (%s, or sni/ and no-sni/ folders)", classify.ManifestFile)
	}
	return m, nil
}
