package cesnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// benchRows builds n varied, valid rows shaped like the real files
// (pools of SNIs and JA3s, 1–30 packet PPIs, heavy-tailed counters).
func benchRows(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	all := Apps()
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	base := time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		a := all[r.IntN(60)]
		k := 1 + r.IntN(30)
		f := Flow{ID: int64(i), SrcIP: fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256)),
			DstIP: fmt.Sprintf("172.16.%d.%d", r.IntN(64), r.IntN(256)), DstASN: int64(1000 + r.IntN(40)),
			DstPort: 443, Protocol: 6, TLSSNI: fmt.Sprintf("api%d.%s.example.com", r.IntN(4), a.Name),
			TLSJA3: fmt.Sprintf("%032x", r.IntN(12)), App: a.Name, Category: a.Category,
			PPILen: int32(k), Packets: int64(k + r.IntN(200)), PacketsRev: int64(k + r.IntN(300)),
			FlagACK: true, FlagACKRev: true, FlagSYN: true, FlagPSH: r.IntN(2) == 0, EndReasonIdle: true}
		f.TimeFirst = base.Add(time.Duration(r.IntN(86400e6)) * time.Microsecond)
		f.Duration = float64(r.IntN(100000)) / 1000
		f.TimeLast = f.TimeFirst.Add(time.Duration(f.Duration * 1e9))
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
		for h := range 4 {
			hist := make([]int32, 8)
			for b := range 8 {
				hist[b] = int32(r.IntN(20))
			}
			switch h {
			case 0:
				f.PHistSrcSizes = hist
			case 1:
				f.PHistDstSizes = hist
			case 2:
				f.PHistSrcIPT = hist
			default:
				f.PHistDstIPT = hist
			}
		}
		if err := e.Write(&f); err != nil {
			panic(err)
		}
	}
	e.Flush()
	return buf.Bytes()
}

// BenchmarkDecode decodes a day file of 200k rows per iteration, plain, gz
// and xz, and times the decompression-only pass of the same file in the
// same run: ratio = decode rate / decompress-only rate (1.0 is the physical
// limit of the path; plain input is compared with a raw read).
func BenchmarkDecode(b *testing.B) {
	const rows = 100_000
	plain := benchRows(rows)
	dir := b.TempDir()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	zw.Write(plain)
	zw.Close()
	cmd := exec.Command("xz", "-c", "-6", "-T1")
	cmd.Stdin = bytes.NewReader(plain)
	xzData, err := cmd.Output()
	if err != nil {
		b.Fatalf("xz: %v", err)
	}
	cases := []struct {
		name string
		ext  string
		data []byte
		mode XZMode
	}{
		{"plain", "csv", plain, XZAuto},
		{"gz", "csv.gz", gz.Bytes(), XZAuto},
		{"xz-liblzma", "csv.xz", xzData, XZExec},
	}
	ctx := context.Background()
	for _, c := range cases {
		p := filepath.Join(dir, "flows-20220301."+c.ext)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			var decodeT, rawT time.Duration
			for b.Loop() {
				t0 := time.Now()
				rc, err := OpenFile(ctx, p, c.mode)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
				rawT += time.Since(t0)
				t0 = time.Now()
				cnt, err := DecodeFile(ctx, p, c.mode, nil, nil)
				if err != nil || cnt.Good != rows {
					b.Fatalf("decode: %+v %v", cnt, err)
				}
				decodeT += time.Since(t0)
			}
			n := float64(b.N)
			b.ReportMetric(n*rows/decodeT.Seconds(), "rows/s")
			b.ReportMetric(n*rows/decodeT.Seconds()/float64(runtime.GOMAXPROCS(0)), "rows/s/core")
			b.ReportMetric(n*float64(len(plain))/decodeT.Seconds()/1e6, "decode-MB/s")
			b.ReportMetric(n*float64(len(plain))/rawT.Seconds()/1e6, "decompress-MB/s")
			b.ReportMetric(rawT.Seconds()/decodeT.Seconds(), "ratio")
			b.ReportMetric(float64(len(c.data))/rows, "file-B/row")
		})
	}
}

// BenchmarkDecodeMemory isolates the parser: 50k rows from memory.
func BenchmarkDecodeMemory(b *testing.B) {
	data := benchRows(50_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data), "flows-20220301.csv")
		var f Flow
		for {
			err := d.Read(&f)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
