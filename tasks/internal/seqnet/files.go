package seqnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
)

// File names used by Save and Load.
const (
	WeightsFile = "seqnet.safetensors"
	ConfigFile  = "seqnet.json"
)

// formatVersion names the config layout.
const formatVersion = "telcotraffic.seqnet/1"

// fileConfig is the JSON config saved beside the weights.
type fileConfig struct {
	Format      string    `json:"format"`
	Arch        Config    `json:"arch"`
	SeqLen      int       `json:"seq_len"`
	PPIChannels int       `json:"ppi_channels"`
	FlowDim     int       `json:"flow_dim"`
	FlowNames   []string  `json:"flow_names,omitempty"`
	Classes     []string  `json:"classes"`
	Scalers     Scalers   `json:"scalers"`
	Train       TrainInfo `json:"train"`
	// WeightsSHA256 is the hash of the weights file written with this config.
	WeightsSHA256 string `json:"weights_sha256"`
}

// weights encodes the safetensors file.
func (m *Model) weights() ([]byte, error) {
	var buf bytes.Buffer
	meta := map[string]string{"format": formatVersion, "classes": fmt.Sprint(len(m.classes))}
	if err := writeSafetensors(&buf, m.params, meta); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteWeights writes the weights in safetensors format.
func (m *Model) WriteWeights(w io.Writer) error {
	b, err := m.weights()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("seqnet: write weights: %w", err)
	}
	return nil
}

// WriteConfig writes the JSON config: architecture, scalers, classes,
// training record and the hash of the weights.
func (m *Model) WriteConfig(w io.Writer) error {
	b, err := m.weights()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	fc := fileConfig{
		Format: formatVersion, Arch: m.cfg, SeqLen: SeqLen, PPIChannels: featuredef.PPIChannels,
		FlowDim: m.flowDim, FlowNames: m.flowNames, Classes: m.classes, Scalers: m.scalers, Train: m.info,
		WeightsSHA256: hex.EncodeToString(sum[:]),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sanitize(fc)); err != nil {
		return fmt.Errorf("seqnet: write config: %w", err)
	}
	return nil
}

// sanitize replaces the NaN validation scores of a run without validation,
// which JSON cannot hold, by zero.
func sanitize(fc fileConfig) fileConfig {
	fc.Train.History = slices.Clone(fc.Train.History)
	for i, h := range fc.Train.History {
		if h.ValLoss != h.ValLoss {
			fc.Train.History[i].ValLoss = 0
		}
		if h.ValMacroF1 != h.ValMacroF1 {
			fc.Train.History[i].ValMacroF1 = 0
		}
	}
	return fc
}

// Read decodes a model from its weights and config.
func Read(weights, config io.Reader) (*Model, error) {
	wb, err := io.ReadAll(weights)
	if err != nil {
		return nil, fmt.Errorf("seqnet: read weights: %w", err)
	}
	var fc fileConfig
	dec := json.NewDecoder(config)
	if err := dec.Decode(&fc); err != nil {
		return nil, fmt.Errorf("%w: config: %w", ErrFormat, err)
	}
	if fc.Format != formatVersion {
		return nil, fmt.Errorf("%w: config format %q, want %q", ErrFormat, fc.Format, formatVersion)
	}
	if fc.SeqLen != SeqLen || fc.PPIChannels != featuredef.PPIChannels {
		return nil, fmt.Errorf("%w: config for %d×%d PPI, want %d×%d", ErrFormat, fc.SeqLen, fc.PPIChannels, SeqLen, featuredef.PPIChannels)
	}
	if sum := sha256.Sum256(wb); hex.EncodeToString(sum[:]) != fc.WeightsSHA256 {
		return nil, fmt.Errorf("%w: weights do not match the config (sha256)", ErrFormat)
	}
	if err := fc.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(fc.Classes) < 2 || fc.FlowDim < 0 || len(fc.Scalers.Flow) != fc.FlowDim {
		return nil, fmt.Errorf("%w: config has %d classes, flow dim %d, %d flow scalers", ErrFormat, len(fc.Classes), fc.FlowDim, len(fc.Scalers.Flow))
	}
	for _, s := range append([]Scaler{fc.Scalers.IPT, fc.Scalers.Size}, fc.Scalers.Flow...) {
		if !(s.Std > 0) {
			return nil, fmt.Errorf("%w: scaler with deviation %v", ErrFormat, s.Std)
		}
	}
	got, _, err := readSafetensors(bytes.NewReader(wb))
	if err != nil {
		return nil, err
	}
	cfg := fc.Arch.withDefaults()
	want := layout(cfg, fc.FlowDim, len(fc.Classes))
	byName := map[string]param{}
	for _, p := range got {
		byName[p.name] = p
	}
	if len(byName) != len(want) {
		return nil, fmt.Errorf("%w: %d tensors, the architecture has %d", ErrFormat, len(byName), len(want))
	}
	for i, w := range want {
		p, ok := byName[w.name]
		if !ok || !slices.Equal(p.shape, w.shape) {
			return nil, fmt.Errorf("%w: tensor %q: got shape %v, want %v", ErrFormat, w.name, p.shape, w.shape)
		}
		want[i].data = p.data
	}
	return &Model{
		cfg: cfg, classes: fc.Classes, flowDim: fc.FlowDim, flowNames: fc.FlowNames,
		scalers: fc.Scalers, params: want, info: fc.Train,
	}, nil
}

// Save writes WeightsFile and ConfigFile into dir, which must exist.
func (m *Model) Save(dir string) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{WeightsFile, m.WriteWeights}, {ConfigFile, m.WriteConfig}} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("seqnet: save: %w", err)
		}
	}
	return nil
}

// Load reads a model saved by Save from dir.
func Load(dir string) (*Model, error) {
	w, err := os.Open(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load: %w", err)
	}
	defer w.Close()
	c, err := os.Open(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load: %w", err)
	}
	defer c.Close()
	m, err := Read(w, c)
	if err != nil && !errors.Is(err, ErrFormat) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return m, nil
}
