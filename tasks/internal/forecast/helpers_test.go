package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Prague without the system zoneinfo
)

func prague(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func testCalendar(t testing.TB) *Calendar {
	return CzechCalendar(prague(t), []int{2021, 2022, 2023})
}

// Hour-of-day shapes (local time) of working days and days off.
var (
	workShape = [24]float64{0.8, 0.5, 0.4, 0.35, 0.35, 0.5, 1.2, 3.0, 6.5, 8.5, 9.0, 8.8, 8.0, 8.5, 8.6, 8.2, 7.0, 5.0, 3.5, 2.8, 2.5, 2.2, 1.8, 1.2}
	offShape  = [24]float64{3.0, 1.8, 1.0, 0.7, 0.6, 0.7, 1.2, 2.2, 3.2, 3.8, 4.2, 4.6, 5.0, 5.0, 5.0, 5.0, 5.2, 5.6, 6.2, 6.8, 7.2, 7.4, 6.8, 4.8}
)

// synthSpec describes a synthetic panel with known structure: every series
// is level × shape(local hour, working day or day off) × exp(σ·N(0,1)), with
// i.i.d. noise, days off (weekends and holidays) at offFactor of a working
// day, and whole local days missing.
type synthSpec struct {
	start     string // first local day
	days      int
	series    int
	sigma     float64
	offFactor float64
	missing   []string // local days without data
	seed      uint64
}

func synthPanel(t testing.TB, cal *Calendar, sp synthSpec) *Panel {
	t.Helper()
	first, err := time.ParseInLocation(time.DateOnly, sp.start, cal.Location)
	if err != nil {
		t.Fatal(err)
	}
	last := first.AddDate(0, 0, sp.days)
	start, end := first.UTC(), last.UTC()
	p := &Panel{Start: start, Hours: int(end.Sub(start) / time.Hour)}
	missing := map[string]bool{}
	for _, d := range sp.missing {
		missing[d] = true
	}
	rng := rand.New(rand.NewPCG(sp.seed, 7))
	for k := range sp.series {
		level := 1000 * math.Pow(3, float64(k))
		mix := float64(k) / float64(max(sp.series-1, 1)) // 0: office traffic … 1: leisure
		v := make([]float64, p.Hours)
		for i := range v {
			d := cal.At(p.Time(i))
			if missing[d.DateOnly] {
				v[i] = math.NaN()
				rng.NormFloat64()
				continue
			}
			shape := (1-mix)*workShape[d.Hour] + mix*offShape[d.Hour]
			if d.Off {
				shape = sp.offFactor * ((1-mix)*offShape[d.Hour] + mix*workShape[d.Hour]*0.5 + mix*offShape[d.Hour]*0.5)
			}
			v[i] = level * shape * math.Exp(sp.sigma*rng.NormFloat64())
		}
		name := "total"
		if k > 0 {
			name = "category:c" + string(rune('0'+k))
		}
		p.Series = append(p.Series, Series{Name: name, Metric: "bytes", Values: v})
	}
	return p
}

// fastXGB is a small model for tests.
func fastXGB() *XGBoost {
	m := DefaultXGBoost(1)
	m.Rounds, m.WindowDays = 120, 28
	m.Params.Eta = 0.1
	return m
}
