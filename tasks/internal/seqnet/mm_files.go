package seqnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
)

// File names used by MM.Save and LoadMM.
const (
	MMWeightsFile = "mmcesnet.safetensors"
	MMConfigFile  = "mmcesnet.json"
)

const mmFormatVersion = "telcotraffic.seqnet-mmcesnet/1"

// mmFileConfig is the JSON config saved beside mm-CESNET's weights; the
// batch norms' running statistics are tensors of the weights file.
type mmFileConfig struct {
	Format        string    `json:"format"`
	Arch          MMConfig  `json:"arch"`
	SeqLen        int       `json:"seq_len"`
	PPIChannels   int       `json:"ppi_channels"`
	FlowDim       int       `json:"flow_dim"`
	FlowNames     []string  `json:"flow_names,omitempty"`
	Classes       []string  `json:"classes"`
	Scalers       Scalers   `json:"scalers"`
	Train         TrainInfo `json:"train"`
	WeightsSHA256 string    `json:"weights_sha256"`
}

// Save writes MMWeightsFile (safetensors) and MMConfigFile into dir, which
// must exist.
func (m *MM) Save(dir string) error {
	var w bytes.Buffer
	meta := map[string]string{"format": mmFormatVersion, "classes": fmt.Sprint(len(m.classes))}
	if err := writeSafetensors(&w, m.params, meta); err != nil {
		return err
	}
	sum := sha256.Sum256(w.Bytes())
	fc := mmFileConfig{Format: mmFormatVersion, Arch: m.cfg, SeqLen: SeqLen, PPIChannels: featuredef.PPIChannels,
		FlowDim: m.flowDim, FlowNames: m.flowNames, Classes: m.classes, Scalers: m.scalers,
		Train: sanitize(fileConfig{Train: m.info}).Train, WeightsSHA256: hex.EncodeToString(sum[:])}
	c, err := json.MarshalIndent(fc, "", "  ")
	if err != nil {
		return fmt.Errorf("seqnet: mm-cesnet config: %w", err)
	}
	for name, b := range map[string][]byte{MMWeightsFile: w.Bytes(), MMConfigFile: append(c, '\n')} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("seqnet: save mm-cesnet: %w", err)
		}
	}
	return nil
}

// LoadMM reads an mm-CESNET model saved by Save from dir.
func LoadMM(dir string) (*MM, error) {
	m, err := loadMM(dir)
	if err != nil && errors.Is(err, ErrFormat) {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return m, err
}

func loadMM(dir string) (*MM, error) {
	wb, err := os.ReadFile(filepath.Join(dir, MMWeightsFile))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load mm-cesnet: %w", err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, MMConfigFile))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load mm-cesnet: %w", err)
	}
	var fc mmFileConfig
	if err := json.Unmarshal(cb, &fc); err != nil {
		return nil, fmt.Errorf("%w: mm-cesnet config: %w", ErrFormat, err)
	}
	if fc.Format != mmFormatVersion {
		return nil, fmt.Errorf("%w: mm-cesnet config format %q, want %q", ErrFormat, fc.Format, mmFormatVersion)
	}
	if fc.SeqLen != SeqLen || fc.PPIChannels != featuredef.PPIChannels {
		return nil, fmt.Errorf("%w: mm-cesnet config for %d×%d PPI, want %d×%d", ErrFormat, fc.SeqLen, fc.PPIChannels, SeqLen, featuredef.PPIChannels)
	}
	if sum := sha256.Sum256(wb); hex.EncodeToString(sum[:]) != fc.WeightsSHA256 {
		return nil, fmt.Errorf("%w: mm-cesnet weights do not match the config (sha256)", ErrFormat)
	}
	if err := fc.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(fc.Classes) < 2 || fc.FlowDim < 1 || len(fc.Scalers.Flow) != fc.FlowDim {
		return nil, fmt.Errorf("%w: mm-cesnet config has %d classes, flow dim %d, %d flow scalers", ErrFormat,
			len(fc.Classes), fc.FlowDim, len(fc.Scalers.Flow))
	}
	for _, s := range append([]Scaler{fc.Scalers.IPT, fc.Scalers.Size}, fc.Scalers.Flow...) {
		if !(s.Std > 0) {
			return nil, fmt.Errorf("%w: mm-cesnet scaler with deviation %v", ErrFormat, s.Std)
		}
	}
	got, _, err := readSafetensors(bytes.NewReader(wb))
	if err != nil {
		return nil, err
	}
	cfg := fc.Arch.withDefaults()
	want := mmLayout(cfg, fc.FlowDim, len(fc.Classes))
	if len(got) != len(want) {
		return nil, fmt.Errorf("%w: %d tensors, mm-cesnet has %d", ErrFormat, len(got), len(want))
	}
	for i, w := range want {
		j := slices.IndexFunc(got, func(p param) bool { return p.name == w.name })
		if j < 0 || !slices.Equal(got[j].shape, w.shape) {
			return nil, fmt.Errorf("%w: mm-cesnet tensor %q missing or not of shape %v", ErrFormat, w.name, w.shape)
		}
		want[i].data = got[j].data
	}
	return newMM(cfg, fc.Classes, fc.FlowDim, fc.FlowNames, fc.Scalers, want, fc.Train), nil
}
