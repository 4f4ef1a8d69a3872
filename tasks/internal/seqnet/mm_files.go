package seqnet

import (
	"fmt"
)

// File names used by MM.Save and LoadMM.
const (
	MMWeightsFile = "mmcesnet.safetensors"
	MMConfigFile  = "mmcesnet.json"
)

const mmFormatVersion = "telcotraffic.seqnet-mmcesnet/1"

var mmFiles = netFiles{what: "mm-cesnet", weights: MMWeightsFile, config: MMConfigFile, format: mmFormatVersion}

// mmFileConfig is the JSON config saved beside mm-CESNET's weights; the
// batch norms' running statistics are tensors of the weights file.
type mmFileConfig struct {
	fileHeader
	Arch      MMConfig  `json:"arch"`
	FlowDim   int       `json:"flow_dim"`
	FlowNames []string  `json:"flow_names,omitempty"`
	Classes   []string  `json:"classes"`
	Scalers   Scalers   `json:"scalers"`
	Train     TrainInfo `json:"train"`
}

// Save writes MMWeightsFile (safetensors) and MMConfigFile into dir, which
// must exist.
func (m *MM) Save(dir string) error {
	return mmFiles.save(dir, m.params, len(m.classes), &mmFileConfig{Arch: m.cfg, FlowDim: m.flowDim, FlowNames: m.flowNames,
		Classes: m.classes, Scalers: m.scalers, Train: sanitize(fileConfig{Train: m.info}).Train})
}

// LoadMM reads an mm-CESNET model saved by Save from dir.
func LoadMM(dir string) (*MM, error) {
	var fc mmFileConfig
	got, err := mmFiles.load(dir, &fc)
	if err != nil {
		return nil, err
	}
	if err := fc.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w (in %s)", ErrFormat, err, dir)
	}
	if len(fc.Classes) < 2 || fc.FlowDim < 1 || len(fc.Scalers.Flow) != fc.FlowDim {
		return nil, fmt.Errorf("%w: mm-cesnet config has %d classes, flow dim %d, %d flow scalers (in %s)", ErrFormat,
			len(fc.Classes), fc.FlowDim, len(fc.Scalers.Flow), dir)
	}
	for _, s := range append([]Scaler{fc.Scalers.IPT, fc.Scalers.Size}, fc.Scalers.Flow...) {
		if !(s.Std > 0) {
			return nil, fmt.Errorf("%w: mm-cesnet scaler with deviation %v (in %s)", ErrFormat, s.Std, dir)
		}
	}
	cfg := fc.Arch.withDefaults()
	want := mmLayout(cfg, fc.FlowDim, len(fc.Classes))
	if err := mmFiles.bind(want, got); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return newMM(cfg, fc.Classes, fc.FlowDim, fc.FlowNames, fc.Scalers, want, fc.Train), nil
}
