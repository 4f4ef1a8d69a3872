package seqnet

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Config is the network architecture. Zero fields take the defaults.
type Config struct {
	// Channels are the PPI channels fed to the convolutions (ChanIPT,
	// ChanDir, ChanSize, ChanPush); default all four.
	Channels []int `json:"channels"`
	// Filters are the output channels of each conv layer; default [64, 64].
	Filters []int `json:"filters"`
	// Kernel is the conv kernel length over time, odd; default 5.
	Kernel int `json:"kernel"`
	// Hidden are the widths of the dense layers between the pooled features
	// (joined with the flow vector) and the softmax; default [128].
	Hidden []int `json:"hidden"`
}

func (c Config) withDefaults() Config {
	if c.Channels == nil {
		c.Channels = []int{ChanIPT, ChanDir, ChanSize, ChanPush}
	}
	if c.Filters == nil {
		c.Filters = []int{64, 64}
	}
	if c.Kernel == 0 {
		c.Kernel = 5
	}
	if c.Hidden == nil {
		c.Hidden = []int{128}
	}
	return c
}

// Validate reports whether c (with defaults applied) describes a network.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := checkChannels(c.Channels); err != nil {
		return err
	}
	if len(c.Filters) == 0 {
		return fmt.Errorf("seqnet: at least one conv layer is needed")
	}
	if c.Kernel < 1 || c.Kernel%2 == 0 || c.Kernel > SeqLen {
		return fmt.Errorf("seqnet: kernel %d: want an odd length in [1, %d]", c.Kernel, SeqLen)
	}
	for _, f := range append(append([]int(nil), c.Filters...), c.Hidden...) {
		if f < 1 {
			return fmt.Errorf("seqnet: layer widths %v / %v must be positive", c.Filters, c.Hidden)
		}
	}
	return nil
}

// param is one named weight tensor.
type param struct {
	name  string
	shape []int
	data  []float32
}

// layout lists the model's weights, in order, without data.
func layout(c Config, flowDim, k int) []param {
	var ps []param
	in := len(c.Channels)
	for i, f := range c.Filters {
		ps = append(ps,
			param{name: fmt.Sprintf("conv%d.weight", i), shape: []int{f, in, 1, c.Kernel}},
			param{name: fmt.Sprintf("conv%d.bias", i), shape: []int{f}})
		in = f
	}
	in = 2*in + flowDim
	for i, h := range append(append([]int(nil), c.Hidden...), k) {
		ps = append(ps,
			param{name: fmt.Sprintf("dense%d.weight", i), shape: []int{in, h}},
			param{name: fmt.Sprintf("dense%d.bias", i), shape: []int{h}})
		in = h
	}
	return ps
}

func size(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// initParams fills the weights: He-normal for layers followed by ReLU,
// Glorot-normal for the logits, zero biases.
func initParams(ps []param, rng *rand.Rand) {
	for i := range ps {
		p := &ps[i]
		p.data = make([]float32, size(p.shape))
		if len(p.shape) == 1 {
			continue
		}
		var std float64
		if len(p.shape) == 4 { // conv: fan-in = in × k
			std = math.Sqrt(2 / float64(p.shape[1]*p.shape[3]))
		} else if i == len(ps)-2 {
			std = math.Sqrt(2 / float64(p.shape[0]+p.shape[1]))
		} else {
			std = math.Sqrt(2 / float64(p.shape[0]))
		}
		for j := range p.data {
			p.data[j] = float32(rng.NormFloat64() * std)
		}
	}
}

// net is one compiled graph for a fixed batch size.
type net struct {
	g                       *G.ExprGraph
	bs                      int
	x, mask, invCnt, flow   *G.Node
	weights                 G.Nodes
	probs                   *G.Node
	target, loss            *G.Node // training graphs only
	vm                      G.VM
	xT, maskT, cntT, flowT  *tensor.Dense
	targetT                 *tensor.Dense
	channels, flowDim, nCls int
}

// newNet builds the graph for batches of bs flows over ps's data (shared, not
// copied). A training graph also has the loss, its gradients and a target
// input (bs, K) holding each row's normalised class weight at its label.
func newNet(c Config, ps []param, flowDim, k, bs int, train bool) (*net, error) {
	n := &net{g: G.NewGraph(), bs: bs, channels: len(c.Channels), flowDim: flowDim, nCls: k}
	g := n.g
	n.xT = tensor.New(tensor.WithShape(bs, n.channels, 1, SeqLen), tensor.Of(tensor.Float32))
	n.maskT = tensor.New(tensor.WithShape(bs, 1, 1, SeqLen), tensor.Of(tensor.Float32))
	n.cntT = tensor.New(tensor.WithShape(bs), tensor.Of(tensor.Float32))
	n.flowT = tensor.New(tensor.WithShape(bs, max(flowDim, 1)), tensor.Of(tensor.Float32))
	n.x = G.NewTensor(g, tensor.Float32, 4, G.WithShape(n.xT.Shape()...), G.WithName("x"), G.WithValue(n.xT))
	n.mask = G.NewTensor(g, tensor.Float32, 4, G.WithShape(n.maskT.Shape()...), G.WithName("mask"), G.WithValue(n.maskT))
	n.invCnt = G.NewVector(g, tensor.Float32, G.WithShape(bs), G.WithName("inv_count"), G.WithValue(n.cntT))
	if flowDim > 0 {
		n.flow = G.NewMatrix(g, tensor.Float32, G.WithShape(bs, flowDim), G.WithName("flow"), G.WithValue(n.flowT))
	}
	for _, p := range ps {
		t := tensor.New(tensor.WithShape(p.shape...), tensor.WithBacking(p.data))
		n.weights = append(n.weights, G.NewTensor(g, tensor.Float32, len(p.shape), G.WithShape(p.shape...), G.WithName(p.name), G.WithValue(t)))
	}

	h := n.x
	var err error
	must := func(v *G.Node, e error) *G.Node {
		if err == nil && e != nil {
			err = e
		}
		return v
	}
	w := n.weights
	for i := range c.Filters {
		h = must(G.Conv2d(h, w[2*i], tensor.Shape{1, c.Kernel}, []int{0, c.Kernel / 2}, []int{1, 1}, []int{1, 1}))
		if err != nil {
			return nil, fmt.Errorf("seqnet: conv%d: %w", i, err)
		}
		h = must(G.BroadcastAdd(h, w[2*i+1], nil, []byte{0, 2, 3}))
		h = must(G.Rectify(h))
		h = must(G.BroadcastHadamardProd(h, n.mask, nil, []byte{1}))
	}
	if err != nil {
		return nil, fmt.Errorf("seqnet: conv stack: %w", err)
	}
	f := c.Filters[len(c.Filters)-1]
	// ReLU outputs are ≥ 0 and padding is 0, so the plain max is the masked max.
	maxPool := must(G.MaxPool2D(h, tensor.Shape{1, SeqLen}, []int{0, 0}, []int{1, 1}))
	maxPool = must(G.Reshape(maxPool, tensor.Shape{bs, f}))
	sum := must(G.Sum(h, 3))
	sum = must(G.Reshape(sum, tensor.Shape{bs, f}))
	meanPool := must(G.BroadcastHadamardProd(sum, n.invCnt, nil, []byte{1}))
	joined := []*G.Node{maxPool, meanPool}
	if n.flow != nil {
		joined = append(joined, n.flow)
	}
	h = must(G.Concat(1, joined...))
	if err != nil {
		return nil, fmt.Errorf("seqnet: pooling: %w", err)
	}
	dense := w[2*len(c.Filters):]
	for i := 0; i < len(dense); i += 2 {
		h = must(G.Mul(h, dense[i]))
		h = must(G.BroadcastAdd(h, dense[i+1], nil, []byte{0}))
		if i+2 < len(dense) {
			h = must(G.Rectify(h))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("seqnet: dense layers: %w", err)
	}
	if !train {
		n.probs = must(G.SoftMax(h))
		if err != nil {
			return nil, fmt.Errorf("seqnet: softmax: %w", err)
		}
		n.vm = G.NewTapeMachine(g)
		return n, nil
	}
	logp := must(G.LogSoftMax(h))
	n.targetT = tensor.New(tensor.WithShape(bs, k), tensor.Of(tensor.Float32))
	n.target = G.NewMatrix(g, tensor.Float32, G.WithShape(bs, k), G.WithName("target"), G.WithValue(n.targetT))
	n.loss = must(G.Neg(must(G.Sum(must(G.HadamardProd(logp, n.target))))))
	if err != nil {
		return nil, fmt.Errorf("seqnet: loss: %w", err)
	}
	if _, err := G.Grad(n.loss, n.weights...); err != nil {
		return nil, fmt.Errorf("seqnet: gradients: %w", err)
	}
	n.vm = G.NewTapeMachine(g, G.BindDualValues(n.weights...))
	return n, nil
}

// inputs returns the graph's input tensors as inputs to fill.
func (n *net) inputs() *inputs {
	in := &inputs{
		x:      n.xT.Data().([]float32),
		mask:   n.maskT.Data().([]float32),
		invCnt: n.cntT.Data().([]float32),
		flow:   n.flowT.Data().([]float32),
	}
	if n.flowDim == 0 {
		in.flow = nil
	}
	return in
}

// run executes the graph once; the caller resets the machine after reading
// the outputs (and stepping the solver).
func (n *net) run() error {
	if err := n.vm.RunAll(); err != nil {
		n.vm.Reset()
		return fmt.Errorf("seqnet: run graph: %w", err)
	}
	return nil
}

func (n *net) close() {
	if n != nil && n.vm != nil {
		n.vm.Close()
	}
}
