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

// File names used by LSTM.Save and LoadLSTM.
const (
	LSTMWeightsFile = "lstm.safetensors"
	LSTMConfigFile  = "lstm.json"
)

const lstmFormatVersion = "telcotraffic.seqnet-lstm/1"

// lstmFileConfig is the JSON config saved beside the LSTM's weights.
type lstmFileConfig struct {
	Format        string     `json:"format"`
	Arch          LSTMConfig `json:"arch"`
	SeqLen        int        `json:"seq_len"`
	PPIChannels   int        `json:"ppi_channels"`
	Classes       []string   `json:"classes"`
	Scalers       Scalers    `json:"scalers"`
	Train         TrainInfo  `json:"train"`
	WeightsSHA256 string     `json:"weights_sha256"`
}

// Save writes LSTMWeightsFile (safetensors) and LSTMConfigFile into dir,
// which must exist.
func (m *LSTM) Save(dir string) error {
	var w bytes.Buffer
	meta := map[string]string{"format": lstmFormatVersion, "classes": fmt.Sprint(len(m.classes))}
	if err := writeSafetensors(&w, m.params, meta); err != nil {
		return err
	}
	sum := sha256.Sum256(w.Bytes())
	fc := lstmFileConfig{Format: lstmFormatVersion, Arch: m.cfg, SeqLen: SeqLen, PPIChannels: featuredef.PPIChannels,
		Classes: m.classes, Scalers: m.scalers, Train: m.info, WeightsSHA256: hex.EncodeToString(sum[:])}
	fc.Train = sanitize(fileConfig{Train: m.info}).Train
	c, err := json.MarshalIndent(fc, "", "  ")
	if err != nil {
		return fmt.Errorf("seqnet: lstm config: %w", err)
	}
	for name, b := range map[string][]byte{LSTMWeightsFile: w.Bytes(), LSTMConfigFile: append(c, '\n')} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("seqnet: save lstm: %w", err)
		}
	}
	return nil
}

// LoadLSTM reads an LSTM saved by Save from dir.
func LoadLSTM(dir string) (*LSTM, error) {
	m, err := loadLSTM(dir)
	if err != nil && errors.Is(err, ErrFormat) {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return m, err
}

func loadLSTM(dir string) (*LSTM, error) {
	wb, err := os.ReadFile(filepath.Join(dir, LSTMWeightsFile))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load lstm: %w", err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, LSTMConfigFile))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load lstm: %w", err)
	}
	var fc lstmFileConfig
	if err := json.Unmarshal(cb, &fc); err != nil {
		return nil, fmt.Errorf("%w: lstm config: %w", ErrFormat, err)
	}
	if fc.Format != lstmFormatVersion {
		return nil, fmt.Errorf("%w: lstm config format %q, want %q", ErrFormat, fc.Format, lstmFormatVersion)
	}
	if fc.SeqLen != SeqLen || fc.PPIChannels != featuredef.PPIChannels {
		return nil, fmt.Errorf("%w: lstm config for %d×%d PPI, want %d×%d", ErrFormat, fc.SeqLen, fc.PPIChannels, SeqLen, featuredef.PPIChannels)
	}
	if sum := sha256.Sum256(wb); hex.EncodeToString(sum[:]) != fc.WeightsSHA256 {
		return nil, fmt.Errorf("%w: lstm weights do not match the config (sha256)", ErrFormat)
	}
	if err := fc.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(fc.Classes) < 2 || !(fc.Scalers.IPT.Std > 0) || !(fc.Scalers.Size.Std > 0) {
		return nil, fmt.Errorf("%w: lstm config has %d classes, scalers %+v", ErrFormat, len(fc.Classes), fc.Scalers)
	}
	got, _, err := readSafetensors(bytes.NewReader(wb))
	if err != nil {
		return nil, err
	}
	cfg := fc.Arch.withDefaults()
	want := lstmLayout(cfg, len(fc.Classes))
	if len(got) != len(want) {
		return nil, fmt.Errorf("%w: %d tensors, the lstm has %d", ErrFormat, len(got), len(want))
	}
	for i, w := range want {
		j := slices.IndexFunc(got, func(p param) bool { return p.name == w.name })
		if j < 0 || !slices.Equal(got[j].shape, w.shape) {
			return nil, fmt.Errorf("%w: lstm tensor %q missing or not of shape %v", ErrFormat, w.name, w.shape)
		}
		want[i].data = got[j].data
	}
	return &LSTM{cfg: cfg, classes: fc.Classes, scalers: fc.Scalers, params: want, info: fc.Train}, nil
}
