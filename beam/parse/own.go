package parse

import (
	"strings"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
)

// owner copies decoded flows (whose slices the decoder reuses, and whose
// strings point into the whole CSV line) into rows that own their memory,
// with two allocations per row, so that buffered rows keep only what they
// need.
type owner struct {
	names map[string]string // interned App and Category values
}

func (o *owner) intern(s string) string {
	if o.names == nil {
		o.names = map[string]string{}
	}
	if v, ok := o.names[s]; ok {
		return v
	}
	v := strings.Clone(s)
	o.names[v] = v
	return v
}

func (o *owner) flow(f *cesnet.Flow) cesnet.Flow {
	c := *f
	lists := [...]*[]int32{&c.PPIIPT, &c.PPIDir, &c.PPISize, &c.PPIPush,
		&c.PHistSrcSizes, &c.PHistDstSizes, &c.PHistSrcIPT, &c.PHistDstIPT}
	n := 0
	for _, l := range lists {
		n += len(*l)
	}
	ints := make([]int32, n)
	for _, l := range lists {
		k := copy(ints, *l)
		*l, ints = ints[:k:k], ints[k:]
	}
	// One string holds the four free-text fields.
	var sb strings.Builder
	sb.Grow(len(f.SrcIP) + len(f.DstIP) + len(f.TLSSNI) + len(f.TLSJA3))
	for _, s := range [...]string{f.SrcIP, f.DstIP, f.TLSSNI, f.TLSJA3} {
		sb.WriteString(s)
	}
	all := sb.String()
	i := 0
	for _, dst := range [...]*string{&c.SrcIP, &c.DstIP, &c.TLSSNI, &c.TLSJA3} {
		n := len(*dst)
		*dst = all[i : i+n]
		i += n
	}
	c.App = o.intern(f.App)
	c.Category = o.intern(f.Category)
	return c
}
