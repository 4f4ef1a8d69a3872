// Package flowgen is the project's one test kit for fake flows: small,
// valid CESNET-TLS-Year22 flows and day files (the published layout,
// encoded by cesnet.Encoder, stats files beside them) for the tests of
// beam and tasks alike. Two shapes: Day draws flows like the real ones
// (pools of SNIs and JA3s, 1–30 packet PPIs, heavy-tailed counters) for the
// pipeline tests; AppFlow gives each app a learnable packet pattern for the
// classifier's tests (classifytest re-exports it). Both are deterministic
// for their seed. Realistic traffic at scale (seasonality, drift, the
// dataset's service mix) is the generate task's (tasks/internal/synth).
package flowgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
)

// Day returns n flows of one day. Apps are drawn from the first apps
// services (skewed towards the first ones). The same arguments give the same
// flows.
func Day(day time.Time, n, apps int, seed uint64) []cesnet.Flow {
	r := rand.New(rand.NewPCG(seed, uint64(day.Unix())))
	all := cesnet.Apps()
	apps = min(max(apps, 1), len(all))
	out := make([]cesnet.Flow, n)
	for i := range out {
		a := all[min(int(r.ExpFloat64()*float64(apps)/3), apps-1)]
		k := 1 + r.IntN(30)
		f := cesnet.Flow{ID: day.Unix()*1000 + int64(i), SrcIP: fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256)),
			DstIP: fmt.Sprintf("172.16.%d.%d", r.IntN(64), r.IntN(256)), DstASN: int64(1000 + r.IntN(40)),
			DstPort: 443, Protocol: 6, TLSSNI: fmt.Sprintf("api%d.%s.example.com", r.IntN(4), a.Name),
			TLSJA3: fmt.Sprintf("%032x", r.IntN(12)), App: a.Name, Category: a.Category,
			PPILen: int32(k), Packets: int64(k + r.IntN(200)), PacketsRev: int64(k + r.IntN(300)),
			FlagACK: true, FlagACKRev: true, FlagSYN: true, FlagPSH: r.IntN(2) == 0, EndReasonIdle: true}
		// Local-day files hold flows from 22:00 UTC the day before.
		f.TimeFirst = day.Add(-2*time.Hour + time.Duration(r.IntN(86400e6))*time.Microsecond)
		f.Duration = float64(r.IntN(100000)) / 1000
		f.TimeLast = f.TimeFirst.Add(time.Duration(f.Duration*1e6) * time.Microsecond)
		f.PPIDuration = float64(r.IntN(5000)) / 1000
		var sum int64
		for j := range k {
			ipt := int32(0)
			if j > 0 {
				ipt = int32(r.ExpFloat64() * 20)
			}
			d := int32(1)
			if r.IntN(2) == 0 {
				d = -1
			}
			sz := []int32{517, 1460, 1448, 31, 80, int32(r.IntN(1460))}[r.IntN(6)]
			sum += int64(sz)
			f.PPIIPT = append(f.PPIIPT, ipt)
			f.PPIDir = append(f.PPIDir, d)
			f.PPISize = append(f.PPISize, sz)
			f.PPIPush = append(f.PPIPush, int32(r.IntN(2)))
		}
		f.Bytes, f.BytesRev = sum+int64(r.IntN(1e6)), int64(r.IntN(1e7))
		hists := [4]*[]int32{&f.PHistSrcSizes, &f.PHistDstSizes, &f.PHistSrcIPT, &f.PHistDstIPT}
		for _, h := range hists {
			*h = make([]int32, cesnet.PHistBins)
			for b := range *h {
				(*h)[b] = int32(r.IntN(20))
			}
		}
		f.Day = day.Format(cesnet.DayLayout)
		f.Week = cesnet.WeekLabel(day)
		out[i] = f
	}
	return out
}

// Encode renders flows as a day file's CSV.
func Encode(flows []cesnet.Flow) []byte {
	var buf bytes.Buffer
	e := cesnet.NewEncoder(&buf)
	for i := range flows {
		if err := e.Write(&flows[i]); err != nil {
			panic(err) // writing to memory
		}
	}
	if err := e.Flush(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// WriteDay writes a day file under root in the published layout, with
// extension "csv", "csv.gz" (or "csv.xz" when data is already xz), and
// returns its path. data is the CSV text (nil: a zero-byte file, a day
// without data).
func WriteDay(root string, day time.Time, ext string, data []byte) (string, error) {
	p := filepath.Join(root, filepath.FromSlash(cesnet.DayFile(day, ext)))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	if ext == "csv.gz" && len(data) > 0 {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			return "", err
		}
		if err := zw.Close(); err != nil {
			return "", err
		}
		data = buf.Bytes()
	}
	return p, os.WriteFile(p, data, 0o644)
}

// Week writes days consecutive days of n flows each (gzip) under root and
// returns all flows written, in file order.
func Week(root string, start time.Time, days, n, apps int, seed uint64) ([]cesnet.Flow, error) {
	var all []cesnet.Flow
	for d := range days {
		day := start.AddDate(0, 0, d)
		flows := Day(day, n, apps, seed)
		if _, err := WriteDay(root, day, "csv.gz", Encode(flows)); err != nil {
			return nil, err
		}
		all = append(all, flows...)
	}
	return all, nil
}
