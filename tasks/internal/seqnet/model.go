package seqnet

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// predictBatch is the batch size of the inference graph.
const predictBatch = 256

// Model is a trained sequence classifier. Its methods are safe for concurrent
// use.
type Model struct {
	cfg       Config
	classes   []string
	flowDim   int
	flowNames []string
	scalers   Scalers
	params    []param
	info      TrainInfo

	mu  sync.Mutex
	inf *net // gorgonia inference graph over params, built by predictGraph
}

// Classes returns the class list; Predict's column j is Classes()[j].
func (m *Model) Classes() []string { return slices.Clone(m.classes) }

// Config returns the architecture with defaults applied.
func (m *Model) Config() Config { return m.cfg }

// FlowDim returns the length of the flow vector the model expects.
func (m *Model) FlowDim() int { return m.flowDim }

// Info returns how the model was trained.
func (m *Model) Info() TrainInfo { return m.info }

// Close releases graph resources; the model stays usable.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inf.close()
	m.inf = nil
}

// Predict returns the class probabilities of b's flows, N × len(Classes())
// row-major.
func (m *Model) Predict(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	if b.FlowDim != m.flowDim {
		return nil, fmt.Errorf("seqnet: batch has %d flow values per row, model wants %d", b.FlowDim, m.flowDim)
	}
	return m.predict(ctx, b)
}

// predict runs the plain-Go forward pass over b in batches.
func (m *Model) predict(ctx context.Context, b Batch) ([]float32, error) {
	s := m.getScratch()
	defer scratchPool.Put(s)
	n, k := b.Len(), len(m.classes)
	out := make([]float32, n*k)
	for start := 0; start < n; start += predictBatch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("seqnet: predict: %w", err)
		}
		cnt := min(predictBatch, n-start)
		s.in.fill(&m.scalers, m.cfg.Channels, b.Slice(start, start+cnt), nil, cnt)
		m.forward(s, cnt, out[start*k:(start+cnt)*k])
	}
	return out, nil
}

// predictGraph computes the same as predict with the gorgonia graph; tests
// check that the two agree.
func (m *Model) predictGraph(ctx context.Context, b Batch) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inf == nil {
		n, err := newNet(m.cfg, m.params, m.flowDim, len(m.classes), predictBatch, false)
		if err != nil {
			return nil, err
		}
		m.inf = n
	}
	n, k := b.Len(), len(m.classes)
	out := make([]float32, n*k)
	in := m.inf.inputs()
	for start := 0; start < n; start += predictBatch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("seqnet: predict: %w", err)
		}
		cnt := min(predictBatch, n-start)
		in.fill(&m.scalers, m.cfg.Channels, b.Slice(start, start+cnt), nil, cnt)
		if err := m.inf.run(); err != nil {
			return nil, err
		}
		copy(out[start*k:(start+cnt)*k], m.inf.probs.Value().Data().([]float32))
		m.inf.vm.Reset()
	}
	return out, nil
}
