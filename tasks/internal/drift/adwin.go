package drift

import (
	"errors"
	"math"
)

// ADWINConfig configures an ADWIN detector. The zero value takes river's
// defaults (river.drift.ADWIN): Delta 0.002, Clock 32, MaxBuckets 5,
// MinWindowLength 5, GracePeriod 10.
type ADWINConfig struct {
	// Delta is the significance of the cut test: smaller values report
	// fewer, surer changes.
	Delta float64 `json:"delta"`
	// Clock is how often (in updates) the window is tested for a cut; 1
	// tests after every value.
	Clock int `json:"clock"`
	// MaxBuckets is how many buckets of one size are kept before the two
	// oldest are merged into one of twice the size.
	MaxBuckets int `json:"max_buckets"`
	// MinWindowLength is the fewest values either side of a cut must hold.
	MinWindowLength int `json:"min_window_length"`
	// GracePeriod is the window width below which no cut is tested.
	GracePeriod int `json:"grace_period"`
}

func (c ADWINConfig) withDefaults() ADWINConfig {
	if c.Delta == 0 {
		c.Delta = 0.002
	}
	if c.Clock == 0 {
		c.Clock = 32
	}
	if c.MaxBuckets == 0 {
		c.MaxBuckets = 5
	}
	if c.MinWindowLength == 0 {
		c.MinWindowLength = 5
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = 10
	}
	return c
}

// Validate reports a configuration ADWIN cannot run with.
func (c ADWINConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !(c.Delta > 0 && c.Delta < 1):
		return errors.New("drift: adwin: delta must be in (0, 1)")
	case c.Clock < 1:
		return errors.New("drift: adwin: clock must be ≥ 1")
	case c.MaxBuckets < 2:
		return errors.New("drift: adwin: max buckets must be ≥ 2")
	case c.MinWindowLength < 1:
		return errors.New("drift: adwin: min window length must be ≥ 1")
	}
	return nil
}

// ADWIN is the adaptive-windowing change detector of Bifet and Gavaldà
// (2007) in its ADWIN2 form (exponential histogram of buckets), with the
// semantics of river's drift.ADWIN so that both report the same change
// points on the same stream:
//
//   - Row r of the window holds up to MaxBuckets+1 buckets, each the sum
//     and variance of 2^r consecutive values; when a row overflows, its two
//     oldest buckets merge into one bucket of the next row.
//   - Every Clock-th update, once the window is wider than GracePeriod, every
//     cut between buckets (oldest first) is tested with the Hoeffding-style
//     bound of the paper (variance-aware ε); on a significant cut the oldest
//     bucket is dropped and the test restarts, until no cut is significant.
//   - After an update that reported a change the detector starts afresh
//     with an empty window (river resets on the next update).
//
// The state is exported (JSON) so a daily job can carry it from day to day.
type ADWIN struct {
	Config ADWINConfig `json:"config"`
	// Rows[r] holds the buckets of size 2^r, oldest first.
	Rows [][]Bucket `json:"rows"`
	// Width, Total and Variance summarise the window (Variance is the sum
	// of squared deviations, not divided by Width).
	Width    float64 `json:"width"`
	Total    float64 `json:"total"`
	Variance float64 `json:"variance"`
	Tick     int     `json:"tick"`
	// Detections counts changes reported since the detector was made;
	// Changed says whether the last update reported one.
	Detections int  `json:"detections"`
	Changed    bool `json:"changed"`
}

// Bucket summarises 2^row consecutive values.
type Bucket struct {
	Total    float64 `json:"t"`
	Variance float64 `json:"v"`
}

// NewADWIN returns an empty detector.
func NewADWIN(cfg ADWINConfig) *ADWIN {
	return &ADWIN{Config: cfg.withDefaults()}
}

// Mean returns the mean of the window (0 when empty).
func (a *ADWIN) Mean() float64 {
	if a.Width == 0 {
		return 0
	}
	return a.Total / a.Width
}

// Update adds one value and reports whether a change was detected.
func (a *ADWIN) Update(x float64) bool {
	if a.Changed {
		a.reset()
	}
	a.insert(x)
	a.Changed = a.detect()
	if a.Changed {
		a.Detections++
	}
	return a.Changed
}

// reset empties the window, keeping the configuration and the count of
// detections.
func (a *ADWIN) reset() {
	*a = ADWIN{Config: a.Config, Detections: a.Detections}
}

func (a *ADWIN) insert(x float64) {
	if len(a.Rows) == 0 {
		a.Rows = [][]Bucket{nil}
	}
	a.Rows[0] = append(a.Rows[0], Bucket{Total: x})
	a.Width++
	if a.Width > 1 {
		d := x - a.Total/(a.Width-1)
		a.Variance += (a.Width - 1) * d * d / a.Width
	}
	a.Total += x
	// Merge the two oldest buckets of a full row into the next row.
	for r := 0; r < len(a.Rows) && len(a.Rows[r]) == a.Config.MaxBuckets+1; r++ {
		size := math.Ldexp(1, r)
		b0, b1 := a.Rows[r][0], a.Rows[r][1]
		m0, m1 := b0.Total/size, b1.Total/size
		merged := Bucket{Total: b0.Total + b1.Total, Variance: b0.Variance + b1.Variance + size*0.5*(m0-m1)*(m0-m1)}
		if r+1 == len(a.Rows) {
			a.Rows = append(a.Rows, nil)
		}
		a.Rows[r+1] = append(a.Rows[r+1], merged)
		a.Rows[r] = append(a.Rows[r][:0], a.Rows[r][2:]...)
	}
}

// dropOldest removes the oldest bucket of the window.
func (a *ADWIN) dropOldest() {
	r := len(a.Rows) - 1
	size := math.Ldexp(1, r)
	b := a.Rows[r][0]
	a.Width -= size
	a.Total -= b.Total
	m, mw := b.Total/size, a.Total/a.Width
	a.Variance -= b.Variance + size*a.Width*(m-mw)*(m-mw)/(size+a.Width)
	a.Rows[r] = append(a.Rows[r][:0], a.Rows[r][1:]...)
	if len(a.Rows[r]) == 0 {
		a.Rows = a.Rows[:r]
	}
}

// detect runs the cut test when the clock says so and shrinks the window
// while a cut is significant.
func (a *ADWIN) detect() bool {
	a.Tick++
	if a.Tick%a.Config.Clock != 0 || a.Width <= float64(a.Config.GracePeriod) {
		return false
	}
	changed := false
	for again := true; again; {
		again = false
		var n0, u0 float64
		n1, u1 := a.Width, a.Total
	scan:
		for r := len(a.Rows) - 1; r >= 0; r-- {
			size := math.Ldexp(1, r)
			row := a.Rows[r]
			for k := range row {
				n0 += size
				n1 -= size
				u0 += row[k].Total
				u1 -= row[k].Total
				if r == 0 && k == len(row)-1 {
					break scan
				}
				if n0 >= float64(a.Config.MinWindowLength) && n1 >= float64(a.Config.MinWindowLength) &&
					a.significant(n0, n1, u0/n0-u1/n1) {
					changed, again = true, true
					if a.Width > 0 {
						a.dropOldest()
						break scan
					}
				}
			}
		}
	}
	return changed
}

// significant is the cut test: |μ0 − μ1| > ε(n0, n1).
func (a *ADWIN) significant(n0, n1, diff float64) bool {
	mw := float64(a.Config.MinWindowLength)
	dPrime := math.Log(2 * math.Log(a.Width) / a.Config.Delta)
	mRecip := 1/(n0-mw+1) + 1/(n1-mw+1)
	eps := math.Sqrt(2*mRecip*(a.Variance/a.Width)*dPrime) + 2.0/3.0*dPrime*mRecip
	return math.Abs(diff) > eps
}
