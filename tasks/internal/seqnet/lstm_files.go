package seqnet

import (
	"fmt"
)

// File names used by LSTM.Save and LoadLSTM.
const (
	LSTMWeightsFile = "lstm.safetensors"
	LSTMConfigFile  = "lstm.json"
)

const lstmFormatVersion = "telcotraffic.seqnet-lstm/1"

var lstmFiles = netFiles{what: "lstm", weights: LSTMWeightsFile, config: LSTMConfigFile, format: lstmFormatVersion}

// lstmFileConfig is the JSON config saved beside the LSTM's weights.
type lstmFileConfig struct {
	fileHeader
	Arch    LSTMConfig `json:"arch"`
	Classes []string   `json:"classes"`
	Scalers Scalers    `json:"scalers"`
	Train   TrainInfo  `json:"train"`
}

// Save writes LSTMWeightsFile (safetensors) and LSTMConfigFile into dir,
// which must exist.
func (m *LSTM) Save(dir string) error {
	return lstmFiles.save(dir, m.params, len(m.classes), &lstmFileConfig{Arch: m.cfg, Classes: m.classes, Scalers: m.scalers,
		Train: sanitize(fileConfig{Train: m.info}).Train})
}

// LoadLSTM reads an LSTM saved by Save from dir.
func LoadLSTM(dir string) (*LSTM, error) {
	var fc lstmFileConfig
	got, err := lstmFiles.load(dir, &fc)
	if err != nil {
		return nil, err
	}
	if err := fc.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w (in %s)", ErrFormat, err, dir)
	}
	if len(fc.Classes) < 2 || !(fc.Scalers.IPT.Std > 0) || !(fc.Scalers.Size.Std > 0) {
		return nil, fmt.Errorf("%w: lstm config has %d classes, scalers %+v (in %s)", ErrFormat, len(fc.Classes), fc.Scalers, dir)
	}
	cfg := fc.Arch.withDefaults()
	want := lstmLayout(cfg, len(fc.Classes))
	if err := lstmFiles.bind(want, got); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return &LSTM{cfg: cfg, classes: fc.Classes, scalers: fc.Scalers, params: want, info: fc.Train}, nil
}
