package cesnet_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
)

// benchRows builds n varied, valid rows shaped like the real files: the
// one fake-flow kit's day (60 apps, pools of SNIs and JA3s, 1–30 packet PPIs,
// heavy-tailed counters), encoded as a day file.
func benchRows(n int) []byte {
	return flowgen.Encode(flowgen.Day(time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC), n, 60, 1))
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
		mode cesnet.XZMode
	}{
		{"plain", "csv", plain, cesnet.XZAuto},
		{"gz", "csv.gz", gz.Bytes(), cesnet.XZAuto},
		{"xz-liblzma", "csv.xz", xzData, cesnet.XZExec},
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
				rc, err := cesnet.OpenFile(ctx, p, c.mode)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
				rawT += time.Since(t0)
				t0 = time.Now()
				cnt, err := cesnet.DecodeFile(ctx, p, c.mode, nil, nil)
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
		d := cesnet.NewDecoder(bytes.NewReader(data), "flows-20220301.csv")
		var f cesnet.Flow
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
