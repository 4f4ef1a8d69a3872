package classify

import (
	"fmt"
	"math"
	"slices"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

// FeatureSet selects the model inputs (see the package comment).
type FeatureSet string

// The feature sets.
const (
	FeaturesSNI   FeatureSet = "sni"    // all columns
	FeaturesNoSNI FeatureSet = "no-sni" // no SNI domain, SNI/JA3 buckets or destination ASN
)

// ParseFeatureSet checks a feature set name.
func ParseFeatureSet(s string) (FeatureSet, error) {
	switch fs := FeatureSet(s); fs {
	case FeaturesSNI, FeaturesNoSNI:
		return fs, nil
	}
	return "", fmt.Errorf("classify: feature set %q: want %q or %q", s, FeaturesSNI, FeaturesNoSNI)
}

// SNIColumns names the flow_features columns that FeaturesNoSNI leaves out.
var SNIColumns = []string{"sni_domain", "sni_bucket", "ja3_bucket", "dst_asn"}

// TransformConfig sets how transforms are fitted.
type TransformConfig struct {
	Smoothing  float64    `json:"smoothing"`  // target encoding smoothing m; default 10
	Folds      int        `json:"folds"`      // out-of-fold groups; default 5
	OneHotMax  int        `json:"onehot_max"` // most frequent values kept per one-hot field; default 32
	OneHotMin  int        `json:"onehot_min"` // minimum training count of a kept value; default 5
	Seed       uint64     `json:"seed"`
	FeatureSet FeatureSet `json:"feature_set,omitempty"`
}

func (c TransformConfig) withDefaults() TransformConfig {
	if c.Smoothing == 0 {
		c.Smoothing = 10
	}
	if c.Folds == 0 {
		c.Folds = 5
	}
	if c.OneHotMax == 0 {
		c.OneHotMax = 32
	}
	if c.OneHotMin == 0 {
		c.OneHotMin = 5
	}
	if c.FeatureSet == "" {
		c.FeatureSet = FeaturesSNI
	}
	return c
}

// Transforms are the fitted feature transforms of one bundle. They turn
// flow_features rows into each member's inputs (see Inputs).
type Transforms struct {
	FeatureSet FeatureSet `json:"feature_set"`
	Classes    []string   `json:"classes"`
	// Categories[i] is the service category of Classes[i] (saved in the
	// bundle manifest).
	Categories []string `json:"-"`
	// SNI, ASN and JA3 are nil for FeaturesNoSNI.
	SNI *TargetEncoder `json:"sni_target_encoding,omitempty"`
	ASN *OneHot        `json:"dst_asn_onehot,omitempty"`
	JA3 *OneHot        `json:"ja3_bucket_onehot,omitempty"`

	oof *OOF // training rows' out-of-fold encodings; only after Fit
}

// FitTransforms fits the transforms on training rows and their labels
// (indices into classes). It returns the transforms and the training
// Inputs, whose SNI encodings are out of fold.
func FitTransforms(rows []tablerow.FlowFeatures, labels []int, classes []string, c TransformConfig) (*Transforms, *Inputs, error) {
	c = c.withDefaults()
	if len(rows) != len(labels) {
		return nil, nil, fmt.Errorf("classify: fit transforms: %d rows, %d labels", len(rows), len(labels))
	}
	t := &Transforms{FeatureSet: c.FeatureSet, Classes: slices.Clone(classes), Categories: categoriesOf(classes, rows)}
	if c.FeatureSet == FeaturesSNI {
		doms := make([]string, len(rows))
		asn := make([]int64, len(rows))
		ja3 := make([]int64, len(rows))
		for i := range rows {
			doms[i], asn[i], ja3[i] = rows[i].SNIDomain, rows[i].DstASN, int64(rows[i].JA3Bucket)
		}
		te, oof, err := FitTargetEncoder(doms, labels, len(classes), c.Smoothing, c.Folds, c.Seed)
		if err != nil {
			return nil, nil, err
		}
		t.SNI, t.oof = te, oof
		t.ASN = FitOneHot(asn, c.OneHotMax, c.OneHotMin)
		t.JA3 = FitOneHot(ja3, c.OneHotMax, c.OneHotMin)
	}
	in := &Inputs{Rows: rows, Labels: labels, t: t, training: true}
	return t, in, nil
}

// Validate checks that loaded transforms are consistent.
func (t *Transforms) Validate() error {
	if len(t.Classes) < 2 || len(t.Categories) != len(t.Classes) {
		return fmt.Errorf("classify: transforms: %d classes, %d categories", len(t.Classes), len(t.Categories))
	}
	switch t.FeatureSet {
	case FeaturesSNI:
		if t.SNI == nil || t.ASN == nil || t.JA3 == nil {
			return fmt.Errorf("classify: transforms: feature set %s without its encoders", t.FeatureSet)
		}
		if t.SNI.Classes != len(t.Classes) || len(t.SNI.Prior) != len(t.Classes) {
			return fmt.Errorf("classify: transforms: target encoding for %d classes, have %d", t.SNI.Classes, len(t.Classes))
		}
		if t.SNI.Smoothing < 0 || math.IsNaN(t.SNI.Smoothing) {
			return fmt.Errorf("classify: transforms: target encoding smoothing %v", t.SNI.Smoothing)
		}
		for d, pairs := range t.SNI.Domains {
			if len(pairs)%2 != 0 {
				return fmt.Errorf("classify: transforms: target encoding of %q: odd number of values", d)
			}
			for i := 0; i < len(pairs); i += 2 {
				if pairs[i] < 0 || int(pairs[i]) >= len(t.Classes) || pairs[i+1] < 0 {
					return fmt.Errorf("classify: transforms: target encoding of %q: bad pair (%d, %d)", d, pairs[i], pairs[i+1])
				}
			}
		}
	case FeaturesNoSNI:
	default:
		return fmt.Errorf("classify: transforms: unknown feature set %q", t.FeatureSet)
	}
	return nil
}

// NewInputs prepares rows (not training rows) for the members; labels may be
// nil.
func (t *Transforms) NewInputs(rows []tablerow.FlowFeatures, labels []int) *Inputs {
	return &Inputs{Rows: rows, Labels: labels, t: t}
}

// treeTE is the number of tree columns derived from the target encoding.
const treeTE = 5

// ppiTree is the number of tree columns derived from the packet sequence.
const ppiTree = 2*cesnet.PPIMaxLen + 3

// TreeNames names the tree view's columns.
func (t *Transforms) TreeNames() []string {
	names := slices.Clone(featuredef.FeatureStats)
	for _, h := range []string{"phist_src_size", "phist_dst_size", "phist_src_ipt", "phist_dst_ipt"} {
		for i := range cesnet.PHistBins {
			names = append(names, fmt.Sprintf("%s_%d", h, i+1))
		}
	}
	for i := range cesnet.PPIMaxLen {
		names = append(names, fmt.Sprintf("ssize_%d", i+1))
	}
	for i := range cesnet.PPIMaxLen {
		names = append(names, fmt.Sprintf("log1p_ipt_%d", i+1))
	}
	names = append(names, "log1p_ppi_bytes_fwd", "log1p_ppi_bytes_rev", "ppi_push_share")
	if t.FeatureSet == FeaturesSNI {
		names = append(names, "sni_te_top1_class", "sni_te_top1_p", "sni_te_top2_class", "sni_te_top2_p", "sni_log1p_count",
			"sni_bucket", "ja3_bucket", "dst_asn")
	}
	return names
}

// NetNames names the net view's flow vector columns.
func (t *Transforms) NetNames() []string {
	names := slices.Clone(seqnet.FlowNames(true))
	if t.FeatureSet == FeaturesSNI {
		for _, c := range t.Classes {
			names = append(names, "sni_te_"+c)
		}
		names = append(names, "sni_log1p_count")
		for _, v := range t.ASN.Vocab {
			names = append(names, fmt.Sprintf("dst_asn_%d", v))
		}
		names = append(names, "dst_asn_other")
		for _, v := range t.JA3.Vocab {
			names = append(names, fmt.Sprintf("ja3_bucket_%d", v))
		}
		names = append(names, "ja3_bucket_other")
	}
	return names
}

// Inputs are rows prepared for the members. Views are computed on first
// use and shared, so members scoring the same rows pay for the transforms
// once.
type Inputs struct {
	Rows []tablerow.FlowFeatures
	// Labels are class indices, -1 for a flow of no class; nil when
	// unknown.
	Labels []int

	t        *Transforms
	training bool
	te       []float32 // N × K SNI encodings
	teCount  []float32 // N: log1p of the count behind each encoding
	tree     *xgb.Matrix
	net      *seqnet.Batch
}

// Len returns the number of rows.
func (in *Inputs) Len() int { return len(in.Rows) }

// Classes returns the number of classes.
func (in *Inputs) Classes() int { return len(in.t.Classes) }

// Subset returns inputs of rows idx (views recomputed as needed).
func (in *Inputs) Subset(idx []int) *Inputs {
	out := &Inputs{t: in.t, Rows: make([]tablerow.FlowFeatures, len(idx))}
	if in.Labels != nil {
		out.Labels = make([]int, len(idx))
	}
	in.encodeSNI()
	k := len(in.t.Classes)
	if in.te != nil {
		out.te = make([]float32, len(idx)*k)
		out.teCount = make([]float32, len(idx))
	}
	for i, j := range idx {
		out.Rows[i] = in.Rows[j]
		if in.Labels != nil {
			out.Labels[i] = in.Labels[j]
		}
		if in.te != nil {
			copy(out.te[i*k:(i+1)*k], in.te[j*k:(j+1)*k])
			out.teCount[i] = in.teCount[j]
		}
	}
	return out
}

// encodeSNI fills the SNI target encodings (out of fold for training rows).
func (in *Inputs) encodeSNI() {
	if in.te != nil || in.t.SNI == nil {
		return
	}
	k := len(in.t.Classes)
	in.te = make([]float32, len(in.Rows)*k)
	in.teCount = make([]float32, len(in.Rows))
	for i := range in.Rows {
		dst := in.te[i*k : (i+1)*k]
		var n float64
		if in.training {
			n = in.t.oof.Encode(i, in.Rows[i].SNIDomain, dst)
		} else {
			n = in.t.SNI.Encode(in.Rows[i].SNIDomain, dst)
		}
		in.teCount[i] = float32(math.Log1p(n))
	}
}

// SNIEncoding returns the SNI target encoding of row i (nil without SNI).
func (in *Inputs) SNIEncoding(i int) []float32 {
	in.encodeSNI()
	if in.te == nil {
		return nil
	}
	k := len(in.t.Classes)
	return in.te[i*k : (i+1)*k]
}

// Tree returns the tree view: flow statistics, normalised histograms, the
// packet sequence as signed sizes and log1p inter-packet times (padding
// missing), PPI byte totals and push share, and for FeaturesSNI the top-2
// classes of the SNI encoding with their probabilities, the domain's log
// count, the SNI and JA3 buckets and the destination ASN.
func (in *Inputs) Tree() xgb.Matrix {
	if in.tree != nil {
		return *in.tree
	}
	in.encodeSNI()
	cols := len(featuredef.FeatureStats) + 4*cesnet.PHistBins + ppiTree
	if in.t.FeatureSet == FeaturesSNI {
		cols += treeTE + 3
	}
	k := len(in.t.Classes)
	m := xgb.Matrix{Data: make([]float32, len(in.Rows)*cols), Rows: len(in.Rows), Cols: cols}
	nan := float32(math.NaN())
	for i := range in.Rows {
		r := &in.Rows[i]
		row := m.Data[i*cols : (i+1)*cols]
		j := copy(row, r.Stats)
		j += copy(row[j:], r.PHist)
		var fwd, rev, push, real float64
		for p := range cesnet.PPIMaxLen {
			pk := r.PPI[p*featuredef.PPIChannels : (p+1)*featuredef.PPIChannels]
			if pk[seqnet.ChanDir] == 0 {
				row[j+p] = nan
				row[j+cesnet.PPIMaxLen+p] = nan
				continue
			}
			real++
			row[j+p] = pk[seqnet.ChanDir] * pk[seqnet.ChanSize]
			row[j+cesnet.PPIMaxLen+p] = float32(math.Log1p(math.Max(float64(pk[seqnet.ChanIPT]), 0)))
			if pk[seqnet.ChanDir] > 0 {
				fwd += float64(pk[seqnet.ChanSize])
			} else {
				rev += float64(pk[seqnet.ChanSize])
			}
			push += float64(pk[seqnet.ChanPush])
		}
		j += 2 * cesnet.PPIMaxLen
		row[j], row[j+1] = float32(math.Log1p(fwd)), float32(math.Log1p(rev))
		row[j+2] = nan
		if real > 0 {
			row[j+2] = float32(push / real)
		}
		j += 3
		if in.t.FeatureSet == FeaturesSNI {
			te := in.te[i*k : (i+1)*k]
			c1, c2 := top2(te)
			row[j], row[j+1], row[j+2], row[j+3] = float32(c1), te[c1], float32(c2), te[c2]
			row[j+4] = in.teCount[i]
			row[j+5], row[j+6], row[j+7] = float32(r.SNIBucket), float32(r.JA3Bucket), float32(r.DstASN)
		}
	}
	in.tree = &m
	return m
}

func top2(p []float32) (int, int) {
	a, b := 0, -1
	for c := 1; c < len(p); c++ {
		switch {
		case p[c] > p[a]:
			a, b = c, a
		case b < 0 || p[c] > p[b]:
			b = c
		}
	}
	if b < 0 {
		b = a
	}
	return a, b
}

// NetDim returns the length of the net view's flow vector.
func (t *Transforms) NetDim() int {
	d := len(featuredef.FeatureStats) + 4*cesnet.PHistBins
	if t.FeatureSet == FeaturesSNI {
		d += len(t.Classes) + 1 + t.ASN.Width() + t.JA3.Width()
	}
	return d
}

// Net returns the net view: the packet sequence as it is (seqnet scales
// and masks it) and the flow vector of statistics and histograms, plus for
// FeaturesSNI the full SNI encoding, the domain's log count and the
// one-hot destination ASN and JA3 bucket.
func (in *Inputs) Net() seqnet.Batch {
	if in.net != nil {
		return *in.net
	}
	in.encodeSNI()
	dim := in.t.NetDim()
	k := len(in.t.Classes)
	const rowPPI = seqnet.SeqLen * featuredef.PPIChannels
	b := seqnet.Batch{PPI: make([]float32, len(in.Rows)*rowPPI), Flow: make([]float32, len(in.Rows)*dim), FlowDim: dim}
	for i := range in.Rows {
		r := &in.Rows[i]
		copy(b.PPI[i*rowPPI:(i+1)*rowPPI], r.PPI)
		row := b.Flow[i*dim : (i+1)*dim]
		j := copy(row, r.Stats)
		j += copy(row[j:], r.PHist)
		if in.t.FeatureSet == FeaturesSNI {
			j += copy(row[j:], in.te[i*k:(i+1)*k])
			row[j] = in.teCount[i]
			j++
			in.t.ASN.Encode(r.DstASN, row[j:j+in.t.ASN.Width()])
			j += in.t.ASN.Width()
			in.t.JA3.Encode(int64(r.JA3Bucket), row[j:j+in.t.JA3.Width()])
		}
	}
	in.net = &b
	return b
}
