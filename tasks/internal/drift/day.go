package drift

import (
	"strings"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// Day accumulates one day of flows (flow_features) and, when the score task
// ran, their predictions (flow_predictions), binned like a reference.
type Day struct {
	Date  string
	Flows int64
	// Hist is the day's histogram over the reference's bins.
	Hist *Hist
	// Apps holds the day's flows per labelled app.
	Apps    map[string]*DayApp
	Domains map[string]*DayService // registered SNI domain → flows
	JA3     map[int32]*DayService
	// Predictions summarises flow_predictions rows (nil: none read).
	Predictions *DayPredictions

	bin *Binning
	x   []float32
	idx []int32
}

// DayApp is one labelled app of a day.
type DayApp struct {
	Category string
	Flows    int64
	Hist     *Hist
}

// DayService counts the flows of one domain or JA3 bucket in a day, with
// the categories they were labelled and predicted as.
type DayService struct {
	Flows     int64
	Labelled  map[string]int64 // true category → flows
	Predicted map[string]int64 // predicted category → flows
}

// DayPredictions summarises a day's flow_predictions.
type DayPredictions struct {
	Rows    int64
	Unknown int64
	SumProb float64
	// Labelled counts accepted (not unknown) flows whose true app is a
	// class of the model; Correct, those predicted right.
	Labelled, Correct int64
	// Support and Hits count flows per true app (all flows of classes,
	// unknown ones count as misses), for per-app recall.
	Support, Hits map[string]int64
	// UnknownGroups counts the flows flagged unknown by registered domain
	// and JA3 bucket.
	UnknownGroups map[UnknownKey]*DayService
}

// UnknownKey groups flows the classifier rejected.
type UnknownKey struct {
	Domain string
	JA3    int32
}

// NewDay returns an empty day binned like ref.
func NewDay(ref *Reference, date string) *Day {
	return &Day{Date: date, Hist: ref.Binning.NewHist(), Apps: map[string]*DayApp{},
		Domains: map[string]*DayService{}, JA3: map[int32]*DayService{},
		bin: ref.Binning, x: make([]float32, NumFeatures), idx: make([]int32, NumFeatures)}
}

func (s *DayService) add(labelled, predicted string) {
	s.Flows++
	s.label(labelled, predicted)
}

// label records the categories of a flow already counted.
func (s *DayService) label(labelled, predicted string) {
	if labelled != "" {
		if s.Labelled == nil {
			s.Labelled = map[string]int64{}
		}
		if _, ok := s.Labelled[labelled]; !ok {
			labelled = strings.Clone(labelled)
		}
		s.Labelled[labelled]++
	}
	if predicted != "" {
		if s.Predicted == nil {
			s.Predicted = map[string]int64{}
		}
		if _, ok := s.Predicted[predicted]; !ok {
			predicted = strings.Clone(predicted)
		}
		s.Predicted[predicted]++
	}
}

// AddFlow counts one flow_features row (the row may be reused after).
func (d *Day) AddFlow(r *tablerow.FlowFeatures) {
	d.Flows++
	Extract(r, d.x)
	d.bin.Index(d.x, d.idx)
	d.Hist.AddIndex(d.idx)
	if r.App != "" {
		a := d.Apps[r.App]
		if a == nil {
			a = &DayApp{Category: strings.Clone(r.Category), Hist: d.bin.NewHist()}
			d.Apps[strings.Clone(r.App)] = a
		}
		a.Flows++
		a.Hist.AddIndex(d.idx)
	}
	if dom := RegisteredDomain(r.SNIDomain); dom != "" {
		s := d.Domains[dom]
		if s == nil {
			s = &DayService{}
			d.Domains[strings.Clone(dom)] = s
		}
		s.add(r.Category, "")
	}
	if r.JA3Bucket != 0 {
		s := d.JA3[r.JA3Bucket]
		if s == nil {
			s = &DayService{}
			d.JA3[r.JA3Bucket] = s
		}
		s.add(r.Category, "")
	}
}

// AddPrediction counts one flow_predictions row; classes are the model's.
func (d *Day) AddPrediction(p *tablerow.FlowPrediction, classes map[string]bool) {
	if d.Predictions == nil {
		d.Predictions = &DayPredictions{Support: map[string]int64{}, Hits: map[string]int64{}, UnknownGroups: map[UnknownKey]*DayService{}}
	}
	dp := d.Predictions
	dp.Rows++
	dp.SumProb += float64(p.Prob)
	dom := RegisteredDomain(p.SNIDomain)
	// The flow was counted from flow_features: add its predicted category.
	if s := d.Domains[dom]; dom != "" && s != nil {
		s.label("", p.Category)
	}
	if s := d.JA3[p.JA3Bucket]; p.JA3Bucket != 0 && s != nil {
		s.label("", p.Category)
	}
	if p.Unknown {
		dp.Unknown++
		k := UnknownKey{Domain: dom, JA3: p.JA3Bucket}
		g := dp.UnknownGroups[k]
		if g == nil {
			k.Domain = strings.Clone(k.Domain)
			g = &DayService{}
			dp.UnknownGroups[k] = g
		}
		g.add(p.TrueCategory, p.Category)
	}
	if p.TrueApp == "" || !classes[p.TrueApp] {
		return
	}
	if _, ok := dp.Support[p.TrueApp]; !ok {
		dp.Support[strings.Clone(p.TrueApp)] = 0
		dp.Hits[strings.Clone(p.TrueApp)] = 0
	}
	dp.Support[p.TrueApp]++
	hit := !p.Unknown && p.App == p.TrueApp
	if hit {
		dp.Hits[p.TrueApp]++
	}
	if !p.Unknown {
		dp.Labelled++
		if hit {
			dp.Correct++
		}
	}
}

// empty returns an empty day binned like d.
func (d *Day) empty() *Day {
	return &Day{Date: d.Date, Hist: d.bin.NewHist(), Apps: map[string]*DayApp{},
		Domains: map[string]*DayService{}, JA3: map[int32]*DayService{},
		bin: d.bin, x: make([]float32, NumFeatures), idx: make([]int32, NumFeatures)}
}

// merge adds the flows of o (binned like d, without predictions) to d.
func (d *Day) merge(o *Day) {
	d.Flows += o.Flows
	d.Hist.merge(o.Hist)
	for name, a := range o.Apps {
		if mine := d.Apps[name]; mine != nil {
			mine.Flows += a.Flows
			mine.Hist.merge(a.Hist)
		} else {
			d.Apps[name] = a
		}
	}
	for k, s := range o.Domains {
		d.Domains[k] = d.Domains[k].merge(s)
	}
	for k, s := range o.JA3 {
		d.JA3[k] = d.JA3[k].merge(s)
	}
}

func (h *Hist) merge(o *Hist) {
	h.N += o.N
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
}

// merge returns s with o's counts added (o itself when s is nil).
func (s *DayService) merge(o *DayService) *DayService {
	if s == nil {
		return o
	}
	s.Flows += o.Flows
	for k, n := range o.Labelled {
		if s.Labelled == nil {
			s.Labelled = map[string]int64{}
		}
		s.Labelled[k] += n
	}
	for k, n := range o.Predicted {
		if s.Predicted == nil {
			s.Predicted = map[string]int64{}
		}
		s.Predicted[k] += n
	}
	return s
}
