package classify

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// LinearConfig sets the softmax regression member.
type LinearConfig struct {
	Epochs    int     // default 8
	BatchSize int     // default 128
	LearnRate float64 // Adam step; default 0.01
	L2        float64 // weight decay; default 1e-4
	Seed      uint64
}

func (c LinearConfig) withDefaults() LinearConfig {
	if c.Epochs == 0 {
		c.Epochs = 8
	}
	if c.BatchSize == 0 {
		c.BatchSize = 128
	}
	if c.LearnRate == 0 {
		c.LearnRate = 0.01
	}
	if c.L2 == 0 {
		c.L2 = 1e-4
	}
	return c
}

// LinearMember is a multinomial logistic regression over the net view's
// flow vector and the standardised packet sequence (signed sizes and log
// inter-packet times). It is the ensemble's cheap second member when the
// sequence net is not used, and the second member in tests.
type LinearMember struct {
	Config LinearConfig
	model  linearModel
}

type linearModel struct {
	Classes int           `json:"classes"`
	Dim     int           `json:"dim"`
	Scale   *Standardizer `json:"scale"`
	W       []float32     `json:"w"` // Dim × Classes
	B       []float32     `json:"b"`
	Config  LinearConfig  `json:"config"`
	Epochs  int           `json:"epochs"`
}

// Kind implements Member.
func (m *LinearMember) Kind() string { return "linear" }

// linearX builds the member's raw inputs of in.
func linearX(in *Inputs) ([]float32, int) {
	nb := in.Net()
	d := nb.FlowDim + 2*seqnet.SeqLen
	x := make([]float32, in.Len()*d)
	for i := range in.Len() {
		row := x[i*d : (i+1)*d]
		j := copy(row, nb.Flow[i*nb.FlowDim:(i+1)*nb.FlowDim])
		ppi := nb.PPI[i*seqnet.SeqLen*featuredef.PPIChannels:]
		for p := range seqnet.SeqLen {
			pk := ppi[p*featuredef.PPIChannels:]
			if pk[seqnet.ChanDir] == 0 {
				row[j+p], row[j+seqnet.SeqLen+p] = float32(math.NaN()), float32(math.NaN())
				continue
			}
			row[j+p] = pk[seqnet.ChanDir] * float32(math.Log1p(float64(pk[seqnet.ChanSize])))
			row[j+seqnet.SeqLen+p] = float32(math.Log1p(math.Max(float64(pk[seqnet.ChanIPT]), 0)))
		}
	}
	return x, d
}

// Fit implements Member: Adam on the class-weighted cross-entropy, keeping
// the epoch with the lowest validation loss.
func (m *LinearMember) Fit(ctx context.Context, train, val *Inputs, progress io.Writer) error {
	c := m.Config.withDefaults()
	labels, err := labelsOf(train, "linear train")
	if err != nil {
		return err
	}
	t0 := time.Now()
	k := train.Classes()
	x, d := linearX(train)
	sc := FitStandardizer(x, d, 10)
	for i := 0; i < len(x); i += d {
		sc.Apply(x[i : i+d])
	}
	lm := linearModel{Classes: k, Dim: d, Scale: sc, W: make([]float32, d*k), B: make([]float32, k), Config: c}
	cw := classWeights(labels, k, 0.5, 10)
	var vx []float32
	var vl []int
	if val != nil && val.Len() > 0 {
		if vl, err = labelsOf(val, "linear validation"); err != nil {
			return err
		}
		vx, _ = linearX(val)
		for i := 0; i < len(vx); i += d {
			sc.Apply(vx[i : i+d])
		}
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x11))
	order := rng.Perm(len(labels))
	params := len(lm.W) + k
	mom, vel := make([]float64, params), make([]float64, params)
	grad := make([]float64, params)
	probs := make([]float64, k)
	best, bestLoss := lm, math.Inf(1)
	const b1, b2 = 0.9, 0.999
	step := 0
	for epoch := 1; epoch <= c.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for s := 0; s < len(order); s += c.BatchSize {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("classify: linear: %w", err)
			}
			clear(grad)
			batch := order[s:min(s+c.BatchSize, len(order))]
			var bw float64
			for _, r := range batch {
				bw += cw[labels[r]]
			}
			for _, r := range batch {
				row := x[r*d : (r+1)*d]
				lm.forward(row, probs)
				y, w := labels[r], cw[labels[r]]/bw
				for cl := range k {
					g := probs[cl] * w
					if cl == y {
						g -= w
					}
					if g == 0 {
						continue
					}
					for j, v := range row {
						grad[j*k+cl] += g * float64(v)
					}
					grad[len(lm.W)+cl] += g
				}
			}
			step++
			lr := c.LearnRate * math.Sqrt(1-math.Pow(b2, float64(step))) / (1 - math.Pow(b1, float64(step)))
			for p := range grad {
				g := grad[p]
				if p < len(lm.W) {
					g += c.L2 * float64(lm.W[p])
				}
				mom[p] = b1*mom[p] + (1-b1)*g
				vel[p] = b2*vel[p] + (1-b2)*g*g
				delta := float32(lr * mom[p] / (math.Sqrt(vel[p]) + 1e-8))
				if p < len(lm.W) {
					lm.W[p] -= delta
				} else {
					lm.B[p-len(lm.W)] -= delta
				}
			}
		}
		lm.Epochs = epoch
		if vx == nil {
			best = lm.clone()
			continue
		}
		var loss, ws float64
		for i, y := range vl {
			lm.forward(vx[i*d:(i+1)*d], probs)
			loss -= cw[y] * math.Log(math.Max(probs[y], 1e-12))
			ws += cw[y]
		}
		loss /= ws
		if progress != nil {
			fmt.Fprintf(progress, "classify: linear epoch %d: val loss %.4f (%.0fs)\n", epoch, loss, time.Since(t0).Seconds())
		}
		if loss < bestLoss {
			best, bestLoss = lm.clone(), loss
		}
	}
	m.model = best
	return nil
}

func (lm linearModel) clone() linearModel {
	lm.W = append([]float32(nil), lm.W...)
	lm.B = append([]float32(nil), lm.B...)
	return lm
}

// forward writes the softmax of a scaled row into probs.
func (lm *linearModel) forward(row []float32, probs []float64) {
	k := lm.Classes
	for c := range k {
		probs[c] = float64(lm.B[c])
	}
	for j, v := range row {
		if v == 0 {
			continue
		}
		w := lm.W[j*k : (j+1)*k]
		for c := range k {
			probs[c] += float64(v * w[c])
		}
	}
	softmax(probs)
}

func softmax(z []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v)
	}
	var s float64
	for i, v := range z {
		z[i] = math.Exp(v - mx)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
}

// PredictProba implements Member.
func (m *LinearMember) PredictProba(_ context.Context, in *Inputs) ([]float32, error) {
	if m.model.W == nil {
		return nil, fmt.Errorf("classify: linear: not trained")
	}
	x, d := linearX(in)
	if d != m.model.Dim {
		return nil, fmt.Errorf("classify: linear: inputs have %d columns, model %d", d, m.model.Dim)
	}
	k := m.model.Classes
	out := make([]float32, in.Len()*k)
	probs := make([]float64, k)
	for i := range in.Len() {
		row := x[i*d : (i+1)*d]
		m.model.Scale.Apply(row)
		m.model.forward(row, probs)
		for c, p := range probs {
			out[i*k+c] = float32(p)
		}
	}
	return out, nil
}

// Save implements Member: model.json.
func (m *LinearMember) Save(dir string) error {
	return writeJSON(filepath.Join(dir, "model.json"), m.model)
}

func loadLinear(dir string, t *Transforms) (Member, error) {
	m := &LinearMember{}
	if err := readJSON(filepath.Join(dir, "model.json"), &m.model); err != nil {
		return nil, err
	}
	lm := m.model
	if lm.Classes != len(t.Classes) || lm.Scale == nil || len(lm.W) != lm.Dim*lm.Classes || len(lm.B) != lm.Classes ||
		len(lm.Scale.Mean) != lm.Dim || lm.Dim != t.NetDim()+2*seqnet.SeqLen {
		return nil, fmt.Errorf("classify: linear model in %s does not match its transforms", dir)
	}
	m.Config = lm.Config
	return m, nil
}

// SetThreads implements Member; prediction runs on the calling goroutine.
func (m *LinearMember) SetThreads(int) error { return nil }

// Close implements Member.
func (m *LinearMember) Close() error { return nil }
