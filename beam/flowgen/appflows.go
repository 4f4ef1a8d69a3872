package flowgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
)

// Apps returns k real app names from distinct provider groups, in a fixed
// order (the dataset's decoder accepts only real app tags).
func Apps(k int) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range cesnet.AppNames() {
		p := a
		for i, r := range a {
			if r == '-' {
				p = a[:i]
				break
			}
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, a)
		if len(out) == k {
			break
		}
	}
	return out
}

// Options shape the generated traffic.
type Options struct {
	// Noise scales the per-flow randomness (1: default overlap between apps).
	Noise float64
	// Shift is a drift applied to every app's sizes and timings (0: none).
	Shift float64
	// SNI overrides every flow's server name when not empty; "%s" in it is
	// replaced by the app name.
	SNI string
	// ASN overrides every flow's destination ASN when not 0.
	ASN int64
	// NoSNIFrac of the flows carry no server name (0: none).
	NoSNIFrac float64
}

// AppFlow fills f with a flow of app number a (index into apps) on day:
// each app has its own packet-size and timing pattern, servers and client
// fingerprints, with enough noise that no single feature decides the class
// (the classifier's tests learn from them).
func AppFlow(rng *rand.Rand, apps []string, a int, day time.Time, id int64, o Options, f *cesnet.Flow) {
	if o.Noise == 0 {
		o.Noise = 1
	}
	app, _ := cesnet.LookupApp(apps[a])
	// Apps come in pairs that share a pattern; the second of a pair sends
	// and waits 15 % more, so the pair overlaps under the noise.
	tmpl, scale := a/2, 1+0.15*float64(a%2)
	n := 4 + (tmpl*7)%20 + rng.IntN(6)
	n = min(n, cesnet.PPIMaxLen)
	ipt := make([]int32, n)
	dir := make([]int32, n)
	size := make([]int32, n)
	push := make([]int32, n)
	base := (1 + o.Shift) * scale
	var fwd, rev int64
	var np, nr int64
	for i := range n {
		d := int32(1)
		if (i+tmpl)%3 != 0 {
			d = -1
		}
		if i == 0 {
			d = 1
		}
		mean := float64(120+(tmpl*97+i*31)%1300) * base
		s := mean * math.Exp(rng.NormFloat64()*0.3*o.Noise)
		dir[i], size[i] = d, int32(min(max(s, 1), 1460))
		if i > 0 {
			ipt[i] = int32(float64(1+(tmpl*13+i*5)%60) * base * math.Exp(rng.NormFloat64()*0.5*o.Noise))
		}
		push[i] = int32(rng.IntN(2))
		if d > 0 {
			fwd += int64(size[i])
			np++
		} else {
			rev += int64(size[i])
			nr++
		}
	}
	dur := 0.0
	for _, v := range ipt {
		dur += float64(v) / 1000
	}
	sni := fmt.Sprintf("api%d.%s.com", rng.IntN(3), apps[a])
	if rng.Float64() < 0.15 {
		sni = "cdn.shared-edge.net" // SNI does not always decide
	}
	if o.SNI != "" {
		sni = strings.ReplaceAll(o.SNI, "%s", apps[a])
	}
	if o.NoSNIFrac > 0 && rng.Float64() < o.NoSNIFrac {
		sni = ""
	}
	asn := int64(64500 + a%5)
	if o.ASN != 0 {
		asn = o.ASN
	}
	t := day.Add(time.Duration(rng.IntN(86400)) * time.Second)
	*f = cesnet.Flow{
		ID: id, SrcIP: "10.0.0.1", DstIP: "192.0.2.1", DstASN: asn, DstPort: 443, Protocol: 6,
		TLSSNI: sni, TLSJA3: fmt.Sprintf("%032x", tmpl%4+rng.IntN(2)),
		TimeFirst: t, TimeLast: t.Add(time.Duration(dur * float64(time.Second))), Duration: dur,
		Bytes: fwd * 2, BytesRev: rev * 3, Packets: np + 2, PacketsRev: nr + 3,
		PPILen: int32(n), PPIDuration: dur, PPIRoundtrips: int32(n / 3), App: app.Name, Category: app.Category,
		FlagACK: true, FlagACKRev: true, FlagSYN: true, FlagSYNRev: true, FlagPSH: true, FlagPSHRev: rng.IntN(2) == 0,
		FlagFIN: tmpl%2 == 0, FlagFINRev: tmpl%2 == 0, EndReasonIdle: tmpl%2 == 1, EndReasonEnd: tmpl%2 == 0,
		PPIIPT: ipt, PPIDir: dir, PPISize: size, PPIPush: push,
		PHistSrcSizes: hist(rng, tmpl), PHistDstSizes: hist(rng, tmpl+1), PHistSrcIPT: hist(rng, tmpl+2), PHistDstIPT: hist(rng, tmpl+3),
		Day: day.Format(cesnet.DayLayout), Week: cesnet.WeekLabel(day),
	}
}

func hist(rng *rand.Rand, a int) []int32 {
	h := make([]int32, cesnet.PHistBins)
	for i := range h {
		h[i] = int32(rng.IntN(3))
	}
	h[a%cesnet.PHistBins] += 5
	return h
}

// AppDay is one day of a raw dataset written by WriteAppDays.
type AppDay struct {
	Day   time.Time
	Flows int
	Opts  Options
	// Apps lists the app numbers present that day (nil: all).
	Apps []int
}

// WriteAppDays writes a raw dataset (the CESNET layout, plain CSV) of the given
// days under root (flows of AppFlow), with stats files, and returns the rows written.
func WriteAppDays(ctx context.Context, root string, seed uint64, apps []string, days []AppDay) (int, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5a))
	total := 0
	for _, d := range days {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		flows := make([]cesnet.Flow, d.Flows)
		for i := range flows {
			a := rng.IntN(len(apps))
			if d.Apps != nil {
				a = d.Apps[rng.IntN(len(d.Apps))]
			}
			AppFlow(rng, apps, a, d.Day, int64(total+i), d.Opts, &flows[i])
		}
		if _, err := WriteDay(root, d.Day, "csv", Encode(flows)); err != nil {
			return total, err
		}
		if err := WriteStats(root, d.Day, flows); err != nil {
			return total, err
		}
		total += d.Flows
	}
	return total, nil
}

// WriteStats writes the stats file of a day file holding flows
// (stats-YYYYMMDD.json beside it: the rows per app and the total), as the
// published dataset has.
func WriteStats(root string, day time.Time, flows []cesnet.Flow) error {
	st := cesnet.Stats{Apps: map[string]int64{}}
	for i := range flows {
		st.Apps[flows[i].App]++
	}
	st.Global.TotalSaved = int64(len(flows))
	f, err := os.Create(filepath.Join(root, cesnet.DayStatsFile(day)))
	if err != nil {
		return err
	}
	err = cesnet.WriteStats(f, st)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Weekly returns one day (the Monday) of each of weeks consecutive weeks
// from 2022-01-03, with flows rows each.
func Weekly(weeks, flows int) []AppDay {
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	out := make([]AppDay, weeks)
	for i := range out {
		out[i] = AppDay{Day: start.AddDate(0, 0, 7*i), Flows: flows}
	}
	return out
}
