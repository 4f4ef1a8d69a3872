package seqnet

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// ErrFormat marks a weights or config file that cannot be decoded.
var ErrFormat = errors.New("seqnet: bad model file")

// maxHeader bounds the safetensors JSON header we accept.
const maxHeader = 1 << 24

type tensorInfo struct {
	Dtype       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// writeSafetensors writes ps as float32 tensors, in order, with meta as the
// header's __metadata__.
func writeSafetensors(w io.Writer, ps []param, meta map[string]string) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	off := 0
	for _, p := range ps {
		n := 4 * len(p.data)
		header[p.name] = tensorInfo{Dtype: "F32", Shape: p.shape, DataOffsets: [2]int{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("seqnet: safetensors header: %w", err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned, as the
	// reference writer does.
	if pad := (8 - len(h)%8) % 8; pad > 0 {
		h = append(h, bytes.Repeat([]byte{' '}, pad)...)
	}
	buf := make([]byte, 8, 8+len(h)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(h)))
	buf = append(buf, h...)
	for _, p := range ps {
		for _, v := range p.data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("seqnet: write weights: %w", err)
	}
	return nil
}

// readSafetensors decodes a safetensors file of float32 tensors. It checks
// what the reference reader checks: the header is JSON, every tensor's
// offsets match its shape, and the tensors tile the data without gaps.
func readSafetensors(r io.Reader) ([]param, map[string]string, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, nil, fmt.Errorf("%w: safetensors header length: %w", ErrFormat, err)
	}
	hl := binary.LittleEndian.Uint64(lenBuf[:])
	if hl < 2 || hl > maxHeader {
		return nil, nil, fmt.Errorf("%w: safetensors header of %d bytes", ErrFormat, hl)
	}
	h := make([]byte, hl)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, nil, fmt.Errorf("%w: safetensors header: %w", ErrFormat, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(h, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: safetensors header: %w", ErrFormat, err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("seqnet: read weights: %w", err)
	}
	var meta map[string]string
	var ps []param
	var spans [][2]int
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("%w: safetensors metadata: %w", ErrFormat, err)
			}
			continue
		}
		var ti tensorInfo
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ti); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %q: %w", ErrFormat, name, err)
		}
		if ti.Dtype != "F32" {
			return nil, nil, fmt.Errorf("%w: tensor %q has dtype %q, want F32", ErrFormat, name, ti.Dtype)
		}
		n := 1
		for _, s := range ti.Shape {
			if s < 0 || (s > 0 && n > len(data)/s) {
				return nil, nil, fmt.Errorf("%w: tensor %q has shape %v", ErrFormat, name, ti.Shape)
			}
			n *= s
		}
		lo, hi := ti.DataOffsets[0], ti.DataOffsets[1]
		if lo < 0 || hi < lo || hi > len(data) || hi-lo != 4*n {
			return nil, nil, fmt.Errorf("%w: tensor %q: offsets %v for shape %v in %d data bytes", ErrFormat, name, ti.DataOffsets, ti.Shape, len(data))
		}
		p := param{name: name, shape: ti.Shape, data: make([]float32, n)}
		for i := range p.data {
			p.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+4*i:]))
		}
		ps = append(ps, p)
		spans = append(spans, ti.DataOffsets)
	}
	// By (start, end): an empty tensor may share its start with the next one.
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Or(a[0]-b[0], a[1]-b[1]) })
	end := 0
	for _, s := range spans {
		if s[0] != end {
			return nil, nil, fmt.Errorf("%w: tensor data overlaps or leaves a gap at byte %d", ErrFormat, end)
		}
		end = s[1]
	}
	if end != len(data) {
		return nil, nil, fmt.Errorf("%w: %d data bytes, tensors cover %d", ErrFormat, len(data), end)
	}
	slices.SortFunc(ps, func(a, b param) int { return strings.Compare(a.name, b.name) })
	return ps, meta, nil
}
