package classify

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TargetEncoder encodes a string (the SNI domain) as the smoothed class
// distribution of its training rows:
//
//	enc(d)_c = (n_dc + m·p_c) / (n_d + m)
//
// where n_dc counts training rows of domain d and class c, n_d = Σ_c n_dc,
// p is the training class prior and m the smoothing. An unseen domain gets
// the prior. Fit also returns out-of-fold encodings for the training rows.
type TargetEncoder struct {
	Classes   int       `json:"classes"`
	Smoothing float64   `json:"smoothing"`
	Folds     int       `json:"folds"`
	Prior     []float64 `json:"prior"`
	// Domains maps a value to its training counts as flat (class, count)
	// pairs.
	Domains map[string][]int32 `json:"domains"`
}

// FitTargetEncoder fits an encoder on values with labels (class indices in
// [0, k)), with smoothing m and folds out-of-fold groups assigned by a
// seeded shuffle. It returns the encoder and the fold of each row; use
// EncodeOOF with those folds for the training rows.
func FitTargetEncoder(values []string, labels []int, k int, m float64, folds int, seed uint64) (*TargetEncoder, *OOF, error) {
	if len(values) != len(labels) {
		return nil, nil, fmt.Errorf("classify: target encoder: %d values, %d labels", len(values), len(labels))
	}
	if k < 1 || m < 0 || folds < 2 {
		return nil, nil, fmt.Errorf("classify: target encoder: k %d, smoothing %v, folds %d", k, m, folds)
	}
	te := &TargetEncoder{Classes: k, Smoothing: m, Folds: folds, Prior: make([]float64, k), Domains: map[string][]int32{}}
	fold := make([]int, len(values))
	perm := rand.New(rand.NewPCG(seed, 0x7e)).Perm(len(values))
	for i, p := range perm {
		fold[p] = i % folds
	}
	total := map[string][]int32{} // dense per value
	per := make([]map[string][]int32, folds)
	for f := range per {
		per[f] = map[string][]int32{}
	}
	add := func(mm map[string][]int32, v string, y int) {
		c := mm[v]
		if c == nil {
			c = make([]int32, k)
			mm[v] = c
		}
		c[y]++
	}
	for i, v := range values {
		y := labels[i]
		if y < 0 || y >= k {
			return nil, nil, fmt.Errorf("classify: target encoder: label %d of row %d not in [0, %d)", y, i, k)
		}
		te.Prior[y]++
		add(total, v, y)
		add(per[fold[i]], v, y)
	}
	for c := range te.Prior {
		te.Prior[c] = (te.Prior[c] + 1) / (float64(len(values)) + float64(k))
	}
	for v, c := range total {
		te.Domains[v] = sparse(c)
	}
	return te, &OOF{te: te, total: total, fold: fold, per: per}, nil
}

func sparse(dense []int32) []int32 {
	var out []int32
	for c, n := range dense {
		if n > 0 {
			out = append(out, int32(c), n)
		}
	}
	return out
}

// Encode writes the encoding of v into dst (len Classes) and returns the
// number of training rows with that value.
func (t *TargetEncoder) Encode(v string, dst []float32) float64 {
	pairs := t.Domains[v]
	var n float64
	for i := 1; i < len(pairs); i += 2 {
		n += float64(pairs[i])
	}
	den := n + t.Smoothing
	if den == 0 {
		den = 1
	}
	for c, p := range t.Prior {
		dst[c] = float32(t.Smoothing * p / den)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		dst[pairs[i]] += float32(float64(pairs[i+1]) / den)
	}
	return n
}

// OOF holds the per-fold counts of a fitted encoder, to encode its training
// rows out of fold. It is not saved.
type OOF struct {
	te    *TargetEncoder
	total map[string][]int32
	fold  []int
	per   []map[string][]int32
}

// Fold returns the fold of training row i.
func (o *OOF) Fold(i int) int { return o.fold[i] }

// Encode writes the encoding of training row i (value v) computed without
// the rows of its own fold, and returns the count it used.
func (o *OOF) Encode(i int, v string, dst []float32) float64 {
	tot, own := o.total[v], o.per[o.fold[i]][v]
	var n float64
	for c := range tot {
		n += float64(tot[c])
		if own != nil {
			n -= float64(own[c])
		}
	}
	m := o.te.Smoothing
	den := n + m
	if den == 0 {
		den = 1
	}
	for c, p := range o.te.Prior {
		dst[c] = float32(m * p / den)
		if tot != nil {
			k := tot[c]
			if own != nil {
				k -= own[c]
			}
			dst[c] += float32(float64(k) / den)
		}
	}
	return n
}

// OneHot encodes an integer field over its most frequent training values:
// column j is Vocab[j], the last column every other value.
type OneHot struct {
	Vocab []int64 `json:"vocab"`
}

// FitOneHot keeps the (at most) max most frequent values seen at least
// minCount times, most frequent first (ties by value).
func FitOneHot(values []int64, max, minCount int) *OneHot {
	count := map[int64]int{}
	for _, v := range values {
		count[v]++
	}
	keys := make([]int64, 0, len(count))
	for v, n := range count {
		if n >= minCount {
			keys = append(keys, v)
		}
	}
	slices.SortFunc(keys, func(a, b int64) int {
		if c := cmp.Compare(count[b], count[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(keys) > max {
		keys = keys[:max]
	}
	return &OneHot{Vocab: keys}
}

// Width returns the number of columns.
func (o *OneHot) Width() int { return len(o.Vocab) + 1 }

// Encode writes the one-hot vector of v into dst (len Width).
func (o *OneHot) Encode(v int64, dst []float32) {
	clear(dst)
	for j, u := range o.Vocab {
		if u == v {
			dst[j] = 1
			return
		}
	}
	dst[len(o.Vocab)] = 1
}

// Standardizer scales each column to zero mean and unit deviation over the
// training rows; missing values (NaN) become 0 (the mean) and scaled values
// are clipped to ±Clip.
type Standardizer struct {
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
	Clip float64   `json:"clip"`
}

// FitStandardizer fits a standardizer on a rows × cols row-major matrix.
func FitStandardizer(x []float32, cols int, clip float64) *Standardizer {
	s := &Standardizer{Mean: make([]float64, cols), Std: make([]float64, cols), Clip: clip}
	n := make([]float64, cols)
	m2 := make([]float64, cols)
	for i := 0; i+cols <= len(x); i += cols {
		for j, v := range x[i : i+cols] {
			if math.IsNaN(float64(v)) {
				continue
			}
			n[j]++
			d := float64(v) - s.Mean[j]
			s.Mean[j] += d / n[j]
			m2[j] += d * (float64(v) - s.Mean[j])
		}
	}
	for j := range s.Std {
		s.Std[j] = 1
		if n[j] > 1 {
			if sd := math.Sqrt(m2[j] / n[j]); sd > 1e-6 {
				s.Std[j] = sd
			}
		}
	}
	return s
}

// Apply scales a row in place.
func (s *Standardizer) Apply(row []float32) {
	for j, v := range row {
		if math.IsNaN(float64(v)) {
			row[j] = 0
			continue
		}
		z := (float64(v) - s.Mean[j]) / s.Std[j]
		if s.Clip > 0 {
			z = min(max(z, -s.Clip), s.Clip)
		}
		row[j] = float32(z)
	}
}
