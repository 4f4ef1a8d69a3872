package classify

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
)

var day0 = time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)

// labelled returns rows of apps with their class labels.
func labelled(seed uint64, apps []string, n int, o classifytest.Options) ([]tablerow.FlowFeatures, []int) {
	rows := classifytest.Rows(seed, apps, nil, n, day0, o)
	y := make([]int, n)
	for i := range rows {
		y[i] = slices.Index(apps, rows[i].App)
	}
	return rows, y
}

func TestViewsShapeAndNames(t *testing.T) {
	apps := classifytest.Apps(5)
	rows, y := labelled(1, apps, 200, classifytest.Options{})
	for _, fs := range []FeatureSet{FeaturesSNI, FeaturesNoSNI} {
		tr, in, err := FitTransforms(rows, y, apps, TransformConfig{FeatureSet: fs})
		if err != nil {
			t.Fatal(err)
		}
		tree, net := in.Tree(), in.Net()
		if tree.Rows != len(rows) || tree.Cols != len(tr.TreeNames()) {
			t.Errorf("%s: tree %d×%d, names %d", fs, tree.Rows, tree.Cols, len(tr.TreeNames()))
		}
		if net.Len() != len(rows) || net.FlowDim != len(tr.NetNames()) || net.FlowDim != tr.NetDim() {
			t.Errorf("%s: net %d rows × %d, names %d, dim %d", fs, net.Len(), net.FlowDim, len(tr.NetNames()), tr.NetDim())
		}
		names := strings.Join(append(tr.TreeNames(), tr.NetNames()...), " ")
		hasSNI := strings.Contains(names, "sni") || strings.Contains(names, "ja3") || strings.Contains(names, "asn")
		if hasSNI != (fs == FeaturesSNI) {
			t.Errorf("%s: SNI/JA3/ASN columns present = %v:\n%s", fs, hasSNI, names)
		}
	}
}

func TestTreeViewValues(t *testing.T) {
	apps := classifytest.Apps(2)
	rows, y := labelled(2, apps, 20, classifytest.Options{})
	_, in, err := FitTransforms(rows, y, apps, TransformConfig{FeatureSet: FeaturesNoSNI})
	if err != nil {
		t.Fatal(err)
	}
	x := in.Tree()
	r := rows[0]
	row := x.Data[:x.Cols]
	off := len(featuredef.FeatureStats) + 4*cesnet.PHistBins
	if d := cmp.Diff(r.Stats, row[:len(r.Stats)]); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	for p := range cesnet.PPIMaxLen {
		ipt, dir, size := r.PPI[4*p], r.PPI[4*p+1], r.PPI[4*p+2]
		gotSize, gotIPT := row[off+p], row[off+cesnet.PPIMaxLen+p]
		if dir == 0 {
			if !math.IsNaN(float64(gotSize)) || !math.IsNaN(float64(gotIPT)) {
				t.Errorf("packet %d is padding but tree values %v, %v are not missing", p, gotSize, gotIPT)
			}
			continue
		}
		if gotSize != dir*size || math.Abs(float64(gotIPT)-math.Log1p(float64(ipt))) > 1e-6 {
			t.Errorf("packet %d: got %v, %v; want %v, log1p(%v)", p, gotSize, gotIPT, dir*size, ipt)
		}
	}
}

// Transforms are fitted on training rows only: values that occur only in
// later rows encode as unseen.
func TestTransformsIgnoreLaterValues(t *testing.T) {
	apps := classifytest.Apps(4)
	train, y := labelled(3, apps, 300, classifytest.Options{})
	later, _ := labelled(4, apps, 50, classifytest.Options{SNI: "leak.%s.net", ASN: 99999})
	tr, _, err := FitTransforms(train, y, apps, TransformConfig{FeatureSet: FeaturesSNI})
	if err != nil {
		t.Fatal(err)
	}
	in := tr.NewInputs(later, nil)
	for i := range later {
		got := in.SNIEncoding(i)
		for c, p := range tr.SNI.Prior {
			if math.Abs(float64(got[c])-p) > 1e-6 {
				t.Fatalf("row %d: later-only domain %q encodes as %v, not the prior %v", i, later[i].SNIDomain, got, tr.SNI.Prior)
			}
		}
	}
	if slices.Contains(tr.ASN.Vocab, 99999) {
		t.Error("later-only ASN in the one-hot vocabulary")
	}
	net := in.Net()
	asnOther := len(featuredef.FeatureStats) + 4*cesnet.PHistBins + len(apps) + 1 + len(tr.ASN.Vocab)
	if net.Flow[asnOther] != 1 {
		t.Errorf("later-only ASN not encoded as other: %v", net.Flow[asnOther-len(tr.ASN.Vocab):asnOther+1])
	}
}

func TestSubsetKeepsEncodings(t *testing.T) {
	apps := classifytest.Apps(3)
	rows, y := labelled(5, apps, 60, classifytest.Options{})
	_, in, err := FitTransforms(rows, y, apps, TransformConfig{FeatureSet: FeaturesSNI})
	if err != nil {
		t.Fatal(err)
	}
	sub := in.Subset([]int{7, 3})
	if d := cmp.Diff(in.SNIEncoding(7), sub.SNIEncoding(0)); d != "" {
		t.Errorf("subset row 0 (-want +got):\n%s", d)
	}
	if sub.Labels[1] != y[3] || sub.Rows[1].ID != rows[3].ID {
		t.Errorf("subset row 1: label %d id %d, want %d %d", sub.Labels[1], sub.Rows[1].ID, y[3], rows[3].ID)
	}
}

// Transforms read from a bundle file either fail Validate or work.
func FuzzTransformsJSON(f *testing.F) {
	apps := classifytest.Apps(3)
	rows, y := labelled(6, apps, 40, classifytest.Options{})
	for _, fs := range []FeatureSet{FeaturesSNI, FeaturesNoSNI} {
		tr, _, err := FitTransforms(rows, y, apps, TransformConfig{FeatureSet: fs})
		if err != nil {
			f.Fatal(err)
		}
		b, err := json.Marshal(tr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"feature_set":"sni","classes":["a","b"],"sni_target_encoding":{"classes":2,"prior":[0.5,0.5],"domains":{"x":[5,1]}},"dst_asn_onehot":{},"ja3_bucket_onehot":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tr Transforms
		if json.Unmarshal(b, &tr) != nil {
			return
		}
		tr.Categories = make([]string, len(tr.Classes)) // from the manifest in a bundle
		if tr.Validate() != nil {
			return
		}
		in := tr.NewInputs(rows[:4], nil)
		if x := in.Tree(); x.Cols != len(tr.TreeNames()) {
			t.Errorf("tree view has %d columns, %d names", x.Cols, len(tr.TreeNames()))
		}
		if n := in.Net(); n.FlowDim != tr.NetDim() {
			t.Errorf("net view has %d columns, NetDim %d", n.FlowDim, tr.NetDim())
		}
	})
}
