package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"

	"github.com/google/go-cmp/cmp"
)

// adwinCase is one stream with the detector settings it is run with.
type adwinCase struct {
	Name   string    `json:"name"`
	Delta  float64   `json:"delta"`
	Clock  int       `json:"clock"`
	Values []float64 `json:"values"`
}

// adwinStreams returns step, gradual, noise and Bernoulli streams under
// several δ and clock settings.
func adwinStreams() []adwinCase {
	rng := rand.New(rand.NewPCG(13, 7))
	gauss := func(n int, mean func(i int) float64, sd float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = mean(i) + sd*rng.NormFloat64()
		}
		return out
	}
	step := gauss(3000, func(i int) float64 {
		if i < 1000 {
			return 0
		} else if i < 2000 {
			return 0.8
		}
		return 0.3
	}, 1)
	gradual := gauss(4000, func(i int) float64 { return math.Max(0, float64(i-1500)) / 2500 }, 0.5)
	noise := gauss(5000, func(int) float64 { return 5 }, 2)
	bern := make([]float64, 4000)
	for i := range bern {
		p := 0.2
		if i >= 2000 {
			p = 0.35
		}
		if rng.Float64() < p {
			bern[i] = 1
		}
	}
	// A daily series: 120 days of an app share with a weekly cycle and a
	// step at day 70.
	daily := make([]float64, 120)
	for i := range daily {
		daily[i] = 0.05 + 0.01*math.Sin(2*math.Pi*float64(i)/7) + 0.003*rng.NormFloat64()
		if i >= 70 {
			daily[i] += 0.03
		}
	}
	var cases []adwinCase
	for _, s := range []struct {
		name string
		v    []float64
	}{{"step", step}, {"gradual", gradual}, {"noise", noise}, {"bernoulli", bern}, {"daily", daily}} {
		for _, set := range []struct {
			delta float64
			clock int
		}{{0.002, 32}, {0.002, 1}, {0.05, 4}, {0.0001, 16}} {
			cases = append(cases, adwinCase{Name: fmt.Sprintf("%s/delta=%g/clock=%d", s.name, set.delta, set.clock),
				Delta: set.delta, Clock: set.clock, Values: s.v})
		}
	}
	return cases
}

func goChanges(c adwinCase) []int {
	a := NewADWIN(ADWINConfig{Delta: c.Delta, Clock: c.Clock})
	points := []int{}
	for i, x := range c.Values {
		if a.Update(x) {
			points = append(points, i)
		}
	}
	return points
}

// TestADWINMatchesRiver runs river's ADWIN (TELCO_PYTHON's venv pins
// river) on the same streams and compares the change points exactly.
func TestADWINMatchesRiver(t *testing.T) {
	py := testenv.Python(t)
	cases := adwinStreams()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/river_adwin.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("river: %v\n%s", err, stderr.String())
	}
	var res struct {
		River   string           `json:"river"`
		Changes map[string][]int `json:"changes"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("river output: %v\n%s", err, out)
	}
	t.Logf("river %s", res.River)
	total := 0
	for _, c := range cases {
		want := res.Changes[c.Name]
		if want == nil {
			want = []int{}
		}
		got := goChanges(c)
		total += len(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: change points differ (-river +ours):\n%s", c.Name, diff)
		}
	}
	t.Logf("%d streams, %d change points, all equal", len(cases), total)
	if total == 0 {
		t.Error("no stream had a change point: the comparison proves nothing")
	}
}

// TestADWINState checks that a detector carried through JSON (as the daily
// job stores it) reports what an uninterrupted one does.
func TestADWINState(t *testing.T) {
	for _, c := range adwinStreams()[:8] {
		want := goChanges(c)
		got := []int{}
		a := NewADWIN(ADWINConfig{Delta: c.Delta, Clock: c.Clock})
		for i, x := range c.Values {
			if i%97 == 0 {
				b, err := json.Marshal(a)
				if err != nil {
					t.Fatal(err)
				}
				a = &ADWIN{}
				if err := json.Unmarshal(b, a); err != nil {
					t.Fatal(err)
				}
			}
			if a.Update(x) {
				got = append(got, i)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: (-uninterrupted +carried):\n%s", c.Name, diff)
		}
	}
}

func TestADWINConfigValidate(t *testing.T) {
	for _, c := range []ADWINConfig{{Delta: 1}, {Delta: -0.1}, {Clock: -1}, {MaxBuckets: 1}} {
		if c.Validate() == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := (ADWINConfig{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
