package seqnet

import (
	"fmt"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// SeqLen is the number of packets in a PPI sequence.
const SeqLen = 30

// The channels of tablerow.FlowFeatures.PPI, in order.
const (
	ChanIPT  = 0 // inter-packet time, ms
	ChanDir  = 1 // +1 / -1, 0 = padding
	ChanSize = 2 // payload size, bytes
	ChanPush = 3 // PSH flag
)

// CESNET's clipping of the PPI channels before scaling.
const (
	minSize, maxSize = 1, 1500
	minIPT, maxIPT   = 0, 65000
)

// rowPPI is the number of PPI values per flow.
const rowPPI = SeqLen * featuredef.PPIChannels

// Batch holds the inputs of N flows.
type Batch struct {
	// PPI has N × 30 × 4 values, packet-major per flow as in
	// tablerow.FlowFeatures.PPI.
	PPI []float32
	// Flow has N × FlowDim flow-level values (unscaled), row-major.
	Flow    []float32
	FlowDim int
}

// Len returns the number of flows in b.
func (b Batch) Len() int { return len(b.PPI) / rowPPI }

func (b Batch) validate() error {
	if len(b.PPI)%rowPPI != 0 {
		return fmt.Errorf("seqnet: PPI has %d values, not a multiple of %d", len(b.PPI), rowPPI)
	}
	if b.FlowDim < 0 || len(b.Flow) != b.Len()*b.FlowDim {
		return fmt.Errorf("seqnet: flow has %d values, want %d flows × %d", len(b.Flow), b.Len(), b.FlowDim)
	}
	return nil
}

// Slice returns flows [i, j) of b, sharing memory.
func (b Batch) Slice(i, j int) Batch {
	return Batch{PPI: b.PPI[i*rowPPI : j*rowPPI], Flow: b.Flow[i*b.FlowDim : j*b.FlowDim], FlowDim: b.FlowDim}
}

// Dataset is a Batch with a label (class index) per flow.
type Dataset struct {
	Batch
	Labels []int
}

// FeaturesBatch builds a Batch from flow_features rows: the flow vector is
// Stats (len(featuredef.FeatureStats) values), followed by PHist (32 values) when
// withPHist is set. FlowNames returns the matching column names.
func FeaturesBatch(rows []tablerow.FlowFeatures, withPHist bool) (Batch, error) {
	dim := len(featuredef.FeatureStats)
	if withPHist {
		dim += phistLen
	}
	b := Batch{PPI: make([]float32, 0, len(rows)*rowPPI), Flow: make([]float32, 0, len(rows)*dim), FlowDim: dim}
	for i, r := range rows {
		if len(r.PPI) != rowPPI || len(r.Stats) != len(featuredef.FeatureStats) || (withPHist && len(r.PHist) != phistLen) {
			return Batch{}, fmt.Errorf("seqnet: row %d (id %d): ppi %d, stats %d, phist %d values; want %d, %d, %d",
				i, r.ID, len(r.PPI), len(r.Stats), len(r.PHist), rowPPI, len(featuredef.FeatureStats), phistLen)
		}
		b.PPI = append(b.PPI, r.PPI...)
		b.Flow = append(b.Flow, r.Stats...)
		if withPHist {
			b.Flow = append(b.Flow, r.PHist...)
		}
	}
	return b, nil
}

const phistLen = 32

// FlowNames names the flow vector columns built by FeaturesBatch.
func FlowNames(withPHist bool) []string {
	names := append([]string(nil), featuredef.FeatureStats...)
	if withPHist {
		for _, h := range []string{"phist_src_size", "phist_dst_size", "phist_src_ipt", "phist_dst_ipt"} {
			for i := range 8 {
				names = append(names, fmt.Sprintf("%s_%d", h, i))
			}
		}
	}
	return names
}
