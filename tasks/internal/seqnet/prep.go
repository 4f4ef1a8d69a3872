package seqnet

import (
	"fmt"
	"math"
)

// Scaler standardises one value: (clip(x, Min, Max) − Mean) / Std. Min and
// Max are ignored when equal.
type Scaler struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min,omitempty"`
	Max  float64 `json:"max,omitempty"`
}

func (s Scaler) apply(x float32) float32 {
	v := float64(x)
	if s.Min != s.Max {
		v = min(max(v, s.Min), s.Max)
	}
	return float32((v - s.Mean) / s.Std)
}

// flowClip bounds standardised flow values, so that an extreme value of a later
// week cannot saturate the dense layers.
const flowClip = 20

// Scalers are the input transforms fitted on the training rows.
type Scalers struct {
	IPT  Scaler   `json:"ipt"`
	Size Scaler   `json:"size"`
	Flow []Scaler `json:"flow"`
}

// meanStd accumulates a mean and a standard deviation (Welford).
type meanStd struct {
	n       float64
	mean, m float64
}

func (a *meanStd) add(x float64) {
	a.n++
	d := x - a.mean
	a.mean += d / a.n
	a.m += d * (x - a.mean)
}

func (a *meanStd) scaler(lo, hi float64) Scaler {
	std := 1.0
	if a.n > 1 {
		std = math.Sqrt(a.m / a.n)
	}
	if std < 1e-6 || math.IsNaN(std) {
		std = 1
	}
	return Scaler{Mean: a.mean, Std: std, Min: lo, Max: hi}
}

// fitScalers fits the scalers on b's real packets and flows.
func fitScalers(b Batch) Scalers {
	var ipt, size meanStd
	flow := make([]meanStd, b.FlowDim)
	for i := range b.Len() {
		ppi := b.PPI[i*rowPPI : (i+1)*rowPPI]
		for p := range SeqLen {
			pk := ppi[p*4 : p*4+4]
			if pk[ChanDir] == 0 {
				continue
			}
			ipt.add(min(max(float64(pk[ChanIPT]), minIPT), maxIPT))
			size.add(min(max(float64(pk[ChanSize]), minSize), maxSize))
		}
		for j, v := range b.Flow[i*b.FlowDim : (i+1)*b.FlowDim] {
			if !math.IsNaN(float64(v)) {
				flow[j].add(float64(v))
			}
		}
	}
	s := Scalers{IPT: ipt.scaler(minIPT, maxIPT), Size: size.scaler(minSize, maxSize), Flow: make([]Scaler, b.FlowDim)}
	for j := range flow {
		s.Flow[j] = flow[j].scaler(0, 0)
	}
	return s
}

// inputs are the prepared graph inputs of up to bs flows; rows past n are zero.
type inputs struct {
	n      int
	x      []float32 // (bs, C, 1, SeqLen)
	mask   []float32 // (bs, 1, 1, SeqLen): 1 for real packets
	invCnt []float32 // (bs): 1 / max(1, real packets)
	flow   []float32 // (bs, FlowDim)
}

// fill prepares flows rows (indices into b, or b's first rows when rows is nil
// and n is given) into in. Padding positions are zero in every channel.
func (in *inputs) fill(s *Scalers, channels []int, b Batch, rows []int, n int) {
	if rows != nil {
		n = len(rows)
	}
	in.n = n
	clear(in.x)
	clear(in.mask)
	clear(in.invCnt)
	clear(in.flow)
	c := len(channels)
	fd := b.FlowDim
	for r := range n {
		src := r
		if rows != nil {
			src = rows[r]
		}
		ppi := b.PPI[src*rowPPI : (src+1)*rowPPI]
		x := in.x[r*c*SeqLen : (r+1)*c*SeqLen]
		real := 0
		for p := range SeqLen {
			pk := ppi[p*4 : p*4+4]
			if pk[ChanDir] == 0 {
				continue
			}
			real++
			in.mask[r*SeqLen+p] = 1
			for ci, ch := range channels {
				v := pk[ch]
				switch ch {
				case ChanIPT:
					v = s.IPT.apply(v)
				case ChanSize:
					v = s.Size.apply(v)
				}
				x[ci*SeqLen+p] = v
			}
		}
		in.invCnt[r] = 1 / float32(max(real, 1))
		fl := in.flow[r*fd : (r+1)*fd]
		for j, v := range b.Flow[src*fd : (src+1)*fd] {
			if math.IsNaN(float64(v)) {
				fl[j] = 0 // the training mean
				continue
			}
			fl[j] = min(max(s.Flow[j].apply(v), -flowClip), flowClip)
		}
	}
}

func checkChannels(channels []int) error {
	if len(channels) == 0 {
		return fmt.Errorf("seqnet: no PPI channels selected")
	}
	seen := map[int]bool{}
	for _, c := range channels {
		if c < 0 || c >= 4 || seen[c] {
			return fmt.Errorf("seqnet: bad PPI channel list %v", channels)
		}
		seen[c] = true
	}
	return nil
}
