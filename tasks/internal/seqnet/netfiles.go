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

// netFiles names one saved kind of net (the LSTM, mm-CESNET): its two
// files and the format string of its config.
type netFiles struct {
	what            string // in messages: "lstm", "mm-cesnet"
	weights, config string // file names
	format          string
}

// fileHeader is the part of a net's JSON config every kind shares; the
// config structs embed it, so it sits at their top level.
type fileHeader struct {
	Format        string `json:"format"`
	SeqLen        int    `json:"seq_len"`
	PPIChannels   int    `json:"ppi_channels"`
	WeightsSHA256 string `json:"weights_sha256"`
}

func (h *fileHeader) header() *fileHeader { return h }

// headed is a config struct embedding fileHeader.
type headed interface{ header() *fileHeader }

// save writes the weights (safetensors) and the config into dir, which
// must exist, after filling the config's header.
func (f netFiles) save(dir string, ps []param, classes int, config headed) error {
	var w bytes.Buffer
	meta := map[string]string{"format": f.format, "classes": fmt.Sprint(classes)}
	if err := writeSafetensors(&w, ps, meta); err != nil {
		return err
	}
	sum := sha256.Sum256(w.Bytes())
	*config.header() = fileHeader{Format: f.format, SeqLen: SeqLen, PPIChannels: featuredef.PPIChannels,
		WeightsSHA256: hex.EncodeToString(sum[:])}
	c, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return fmt.Errorf("seqnet: %s config: %w", f.what, err)
	}
	for name, b := range map[string][]byte{f.weights: w.Bytes(), f.config: append(c, '\n')} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("seqnet: save %s: %w", f.what, err)
		}
	}
	return nil
}

// load reads dir's config into config, checks its header against the
// weights file and returns the weights' tensors. A damaged or foreign
// file is ErrFormat, naming dir.
func (f netFiles) load(dir string, config headed) ([]param, error) {
	ps, err := f.read(dir, config)
	if err != nil && errors.Is(err, ErrFormat) {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return ps, err
}

func (f netFiles) read(dir string, config headed) ([]param, error) {
	wb, err := os.ReadFile(filepath.Join(dir, f.weights))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load %s: %w", f.what, err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, f.config))
	if err != nil {
		return nil, fmt.Errorf("seqnet: load %s: %w", f.what, err)
	}
	if err := json.Unmarshal(cb, config); err != nil {
		return nil, fmt.Errorf("%w: %s config: %w", ErrFormat, f.what, err)
	}
	h := config.header()
	if h.Format != f.format {
		return nil, fmt.Errorf("%w: %s config format %q, want %q", ErrFormat, f.what, h.Format, f.format)
	}
	if h.SeqLen != SeqLen || h.PPIChannels != featuredef.PPIChannels {
		return nil, fmt.Errorf("%w: %s config for %d×%d PPI, want %d×%d", ErrFormat, f.what, h.SeqLen, h.PPIChannels, SeqLen, featuredef.PPIChannels)
	}
	if sum := sha256.Sum256(wb); hex.EncodeToString(sum[:]) != h.WeightsSHA256 {
		return nil, fmt.Errorf("%w: %s weights do not match the config (sha256)", ErrFormat, f.what)
	}
	ps, _, err := readSafetensors(bytes.NewReader(wb))
	return ps, err
}

// bind fills want's tensors (a net's layout) from got, the tensors read,
// which must be exactly those of the layout.
func (f netFiles) bind(want, got []param) error {
	if len(got) != len(want) {
		return fmt.Errorf("%w: %d tensors, %s has %d", ErrFormat, len(got), f.what, len(want))
	}
	for i, w := range want {
		j := slices.IndexFunc(got, func(p param) bool { return p.name == w.name })
		if j < 0 || !slices.Equal(got[j].shape, w.shape) {
			return fmt.Errorf("%w: %s tensor %q missing or not of shape %v", ErrFormat, f.what, w.name, w.shape)
		}
		want[i].data = got[j].data
	}
	return nil
}
