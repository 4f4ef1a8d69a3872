package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// BundleFormat names the bundle layout version.
const BundleFormat = "telcotraffic.classifier/1"

// Bundle file names.
const (
	ManifestFile   = "manifest.json"
	TransformsFile = "transforms.json"
	StackingFile   = "stacking.json"
)

// Manifest describes a bundle: what it predicts, from which data, and how it
// scored on its validation window.
type Manifest struct {
	Format     string     `json:"format"`
	Created    time.Time  `json:"created"`
	FeatureSet FeatureSet `json:"feature_set"`
	Classes    []string   `json:"classes"`
	// Categories[i] is the service category of Classes[i].
	Categories []string `json:"categories"`
	// Members lists member kinds; member i's files are in folder Members[i].
	Members []string    `json:"members"`
	Reject  Reject      `json:"reject"`
	Data    DataVersion `json:"data"`
	Split   Split       `json:"split"`
	// TrainRows and ValRows count the sampled rows the bundle learned from.
	TrainRows int `json:"train_rows"`
	ValRows   int `json:"val_rows"`
	// Holdout lists apps left out of training on purpose (unknown services
	// for the open-set measurement); Rare, apps of the training window with
	// too few rows to be classes.
	Holdout []string `json:"holdout_apps"`
	Rare    []string `json:"rare_apps"`
	// OpenSetApps were left out of training to teach the reject rule's
	// known-vs-unknown head; evaluation leaves them out like rare apps.
	OpenSetApps []string `json:"open_set_apps,omitempty"`
	// Val holds validation macro-F1 per member kind and "ensemble".
	Val     map[string]float64 `json:"val_macro_f1"`
	Seconds float64            `json:"train_seconds"`
	Config  TrainConfig        `json:"config"`
}

// Bundle is a trained classifier: transforms, members, stacking and the
// reject rule.
type Bundle struct {
	Manifest   Manifest
	Transforms *Transforms
	Members    []Member
	Stacking   Stacking
}

// Save writes the bundle into dir, replacing a previous bundle there. The
// files are written to a temporary folder beside dir and moved into place.
func (b *Bundle) Save(dir string) error {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("classify: save bundle: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".bundle-*")
	if err != nil {
		return fmt.Errorf("classify: save bundle: %w", err)
	}
	defer os.RemoveAll(tmp)
	for i, m := range b.Members {
		sub := filepath.Join(tmp, b.Manifest.Members[i])
		if err := os.Mkdir(sub, 0o755); err != nil {
			return fmt.Errorf("classify: save bundle: %w", err)
		}
		if err := m.Save(sub); err != nil {
			return err
		}
	}
	for name, v := range map[string]any{ManifestFile: b.Manifest, TransformsFile: b.Transforms, StackingFile: b.Stacking} {
		if err := writeJSON(filepath.Join(tmp, name), v); err != nil {
			return err
		}
	}
	// MkdirTemp makes a private folder; a bundle is meant to be shared.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("classify: save bundle: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("classify: save bundle: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("classify: save bundle: %w", err)
	}
	return nil
}

// LoadBundle reads a bundle saved by Save.
func LoadBundle(dir string) (*Bundle, error) {
	b := &Bundle{Transforms: &Transforms{}}
	if err := readJSON(filepath.Join(dir, ManifestFile), &b.Manifest); err != nil {
		return nil, err
	}
	if b.Manifest.Format != BundleFormat {
		return nil, fmt.Errorf("classify: bundle %s: format %q, want %q", dir, b.Manifest.Format, BundleFormat)
	}
	if err := readJSON(filepath.Join(dir, TransformsFile), b.Transforms); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, StackingFile), &b.Stacking); err != nil {
		return nil, err
	}
	b.Transforms.Categories = b.Manifest.Categories
	if err := b.Transforms.Validate(); err != nil {
		return nil, fmt.Errorf("%w (bundle %s)", err, dir)
	}
	if !slices.Equal(b.Transforms.Classes, b.Manifest.Classes) || len(b.Manifest.Categories) != len(b.Manifest.Classes) {
		return nil, fmt.Errorf("classify: bundle %s: manifest and transforms disagree on the classes", dir)
	}
	if !slices.Equal(b.Stacking.Members, b.Manifest.Members) || len(b.Stacking.Weights) != len(b.Manifest.Members) {
		return nil, fmt.Errorf("classify: bundle %s: stacking does not match the members", dir)
	}
	for _, kind := range b.Manifest.Members {
		m, err := LoadMember(kind, filepath.Join(dir, kind), b.Transforms)
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Members = append(b.Members, m)
	}
	return b, nil
}

// Close frees the members.
func (b *Bundle) Close() error {
	var errs []error
	for _, m := range b.Members {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// SetThreads bounds the cores each member uses per call.
func (b *Bundle) SetThreads(n int) error {
	for _, m := range b.Members {
		if err := m.SetThreads(n); err != nil {
			return err
		}
	}
	return nil
}

// Prediction is the bundle's output for N flows over K classes.
type Prediction struct {
	K int
	// Members[i] are member i's probabilities (N × K), Probs the ensemble's.
	Members [][]float32
	Probs   []float32
	// Class is the most probable class; Confidence its probability; Unknown
	// whether the reject rule flags the flow as an unknown service; Known
	// the reject rule's score under its method (Reject.Method: Confidence,
	// 1 − a head's P(unknown), or the handshake fingerprint score).
	Class      []int
	Confidence []float32
	Known      []float32
	Unknown    []bool
}

// Predict classifies rows: transforms, every member, stacking, reject rule.
func (b *Bundle) Predict(ctx context.Context, rows []tablerow.FlowFeatures) (*Prediction, error) {
	if err := checkRows(rows); err != nil {
		return nil, err
	}
	return b.predict(ctx, b.Transforms.NewInputs(rows, nil))
}

func (b *Bundle) predict(ctx context.Context, in *Inputs) (*Prediction, error) {
	k := len(b.Transforms.Classes)
	p := &Prediction{K: k}
	for _, m := range b.Members {
		probs, err := m.PredictProba(ctx, in)
		if err != nil {
			return nil, err
		}
		p.Members = append(p.Members, probs)
	}
	if in.Len() == 0 {
		return p, nil
	}
	var err error
	if p.Probs, err = b.Stacking.Combine(p.Members, k, nil); err != nil {
		return nil, err
	}
	p.Class = argmaxRows(p.Probs, k)
	p.Confidence = maxProb(p.Probs, k)
	if p.Known, err = b.Manifest.Reject.KnownScores(p.Members, p.Probs, k, in.Rows); err != nil {
		return nil, err
	}
	p.Unknown = make([]bool, in.Len())
	for i, c := range p.Known {
		p.Unknown[i] = c < b.Manifest.Reject.Threshold
	}
	return p, nil
}

// checkRows verifies the vector lengths of flow_features rows.
func checkRows(rows []tablerow.FlowFeatures) error {
	for i := range rows {
		r := &rows[i]
		if len(r.Stats) != len(featuredef.FeatureStats) || len(r.PHist) != 4*cesnet.PHistBins || len(r.PPI) != cesnet.PPIMaxLen*featuredef.PPIChannels {
			return fmt.Errorf("classify: row %d (id %d): stats %d, phist %d, ppi %d values; want %d, %d, %d", i, r.ID,
				len(r.Stats), len(r.PHist), len(r.PPI), len(featuredef.FeatureStats), 4*cesnet.PHistBins, cesnet.PPIMaxLen*featuredef.PPIChannels)
		}
	}
	return nil
}

// SaveTo writes the bundle to uri: a local folder (see Save) or a folder of
// an object store (s3://bucket/prefix), where the files are written through
// lakehouse/storage with manifest.json last and stale files removed.
func (b *Bundle) SaveTo(ctx context.Context, uri string, opts storage.Options) error {
	if p, ok := storage.IsLocal(uri); ok {
		return b.Save(p)
	}
	tmp, err := os.MkdirTemp("", "telco-bundle-*")
	if err != nil {
		return fmt.Errorf("classify: save bundle: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "bundle")
	if err := b.Save(dir); err != nil {
		return err
	}
	store, err := storage.Open(ctx, uri, opts)
	if err != nil {
		return fmt.Errorf("classify: save bundle %s: %w", uri, err)
	}
	if _, err := storage.PutDir(ctx, store, dir, ManifestFile); err != nil {
		return fmt.Errorf("classify: save bundle %s: %w", uri, err)
	}
	return nil
}

// OpenBundle loads the bundle at uri: a local folder or an object store
// folder, copied to a temporary folder while the members load.
func OpenBundle(ctx context.Context, uri string, opts storage.Options) (*Bundle, error) {
	dir, cleanup, err := storage.LocalCopy(ctx, uri, opts)
	if err != nil {
		return nil, fmt.Errorf("classify: bundle %s: %w", uri, err)
	}
	defer cleanup()
	b, err := LoadBundle(dir)
	if err != nil && dir != uri {
		return nil, fmt.Errorf("%w (copied from %s)", err, uri)
	}
	return b, err
}

// readManifest reads the manifest of the bundle at uri.
func readManifest(ctx context.Context, uri string, opts storage.Options) (*Manifest, error) {
	data, err := storage.ReadFile(ctx, storage.JoinURI(uri, ManifestFile), opts)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("classify: %s: %w", storage.JoinURI(uri, ManifestFile), err)
	}
	return &m, nil
}
