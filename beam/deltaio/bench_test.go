package deltaio_test

import (
	"context"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
)

// BenchmarkSmallFiles measures the per-file cost of writing many small
// flows data files (a week partitioned by app has ~1,000 of them).
func BenchmarkSmallFiles(b *testing.B) {
	ctx := context.Background()
	spec := deltaio.TableSpec{Lake: b.TempDir(), Name: "flows", PartitionBy: []string{"week", "app"}}
	tab, _, err := deltaio.OpenOrCreate[cesnet.Flow](ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	day, _ := time.Parse(time.DateOnly, "2022-03-07")
	rows := flowgen.Day(day, 2000, 100, 1)
	b.ResetTimer()
	for range b.N {
		buf, err := deltaio.NewBuffer[cesnet.Flow](ctx, tab, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			if err := buf.Add(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		adds, err := buf.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(adds)), "files/op")
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

type slim struct {
	TimeFirst time.Time `parquet:"time_first,timestamp(microsecond)"`
	Bytes     int64     `parquet:"bytes"`
	App       string    `parquet:"app"`
	Week      string    `parquet:"week"`
}

var benchApps = 100

// BenchmarkReadSmallFiles measures reading many small data files, all
// columns (cesnet.Flow) and a few (slim).
func BenchmarkReadSmallFiles(b *testing.B) {
	ctx := context.Background()
	spec := deltaio.TableSpec{Lake: b.TempDir(), Name: "flows", PartitionBy: []string{"week", "app"}}
	tab, _, err := deltaio.OpenOrCreate[cesnet.Flow](ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	day, _ := time.Parse(time.DateOnly, "2022-03-07")
	rows := flowgen.Day(day, 2000, benchApps, 1)
	buf, _ := deltaio.NewBuffer[cesnet.Flow](ctx, tab, 0, 0)
	for _, r := range rows {
		buf.Add(ctx, r)
	}
	adds, err := buf.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	parts := []string{"week", "app"}
	b.Run("flow", func(b *testing.B) {
		for range b.N {
			n := 0
			for _, a := range adds {
				for _, err := range deltaio.ReadFile[cesnet.Flow](ctx, tab, parts, a) {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
			}
			if n != len(rows) {
				b.Fatal(n)
			}
		}
		b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("exact", func(b *testing.B) {
		for range b.N {
			for _, a := range adds {
				for _, err := range deltaio.ReadFile[flowData](ctx, tab, parts, a) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("slim", func(b *testing.B) {
		for range b.N {
			for _, a := range adds {
				for _, err := range deltaio.ReadFile[slim](ctx, tab, parts, a) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// flowData is cesnet.Flow without the partition columns.
type flowData struct {
	ID              int64     `parquet:"id"`
	SrcIP           string    `parquet:"src_ip"`
	DstIP           string    `parquet:"dst_ip"`
	DstASN          int64     `parquet:"dst_asn"`
	DstPort         int32     `parquet:"dst_port"`
	Protocol        int32     `parquet:"protocol"`
	TLSSNI          string    `parquet:"tls_sni"`
	TLSJA3          string    `parquet:"tls_ja3"`
	TimeFirst       time.Time `parquet:"time_first,timestamp(microsecond)"`
	TimeLast        time.Time `parquet:"time_last,timestamp(microsecond)"`
	Duration        float64   `parquet:"duration"`
	Bytes           int64     `parquet:"bytes"`
	BytesRev        int64     `parquet:"bytes_rev"`
	Packets         int64     `parquet:"packets"`
	PacketsRev      int64     `parquet:"packets_rev"`
	PPILen          int32     `parquet:"ppi_len"`
	PPIDuration     float64   `parquet:"ppi_duration"`
	PPIRoundtrips   int32     `parquet:"ppi_roundtrips"`
	Category        string    `parquet:"category"`
	FlagCWR         bool      `parquet:"flag_cwr"`
	FlagCWRRev      bool      `parquet:"flag_cwr_rev"`
	FlagECE         bool      `parquet:"flag_ece"`
	FlagECERev      bool      `parquet:"flag_ece_rev"`
	FlagURG         bool      `parquet:"flag_urg"`
	FlagURGRev      bool      `parquet:"flag_urg_rev"`
	FlagACK         bool      `parquet:"flag_ack"`
	FlagACKRev      bool      `parquet:"flag_ack_rev"`
	FlagPSH         bool      `parquet:"flag_psh"`
	FlagPSHRev      bool      `parquet:"flag_psh_rev"`
	FlagRST         bool      `parquet:"flag_rst"`
	FlagRSTRev      bool      `parquet:"flag_rst_rev"`
	FlagSYN         bool      `parquet:"flag_syn"`
	FlagSYNRev      bool      `parquet:"flag_syn_rev"`
	FlagFIN         bool      `parquet:"flag_fin"`
	FlagFINRev      bool      `parquet:"flag_fin_rev"`
	EndReasonIdle   bool      `parquet:"flow_endreason_idle"`
	EndReasonActive bool      `parquet:"flow_endreason_active"`
	EndReasonEnd    bool      `parquet:"flow_endreason_end"`
	EndReasonOther  bool      `parquet:"flow_endreason_other"`
	PPIIPT          []int32   `parquet:"ppi_ipt,list"`
	PPIDir          []int32   `parquet:"ppi_dir,list"`
	PPISize         []int32   `parquet:"ppi_size,list"`
	PPIPush         []int32   `parquet:"ppi_push,list"`
	PHistSrcSizes   []int32   `parquet:"phist_src_sizes,list"`
	PHistDstSizes   []int32   `parquet:"phist_dst_sizes,list"`
	PHistSrcIPT     []int32   `parquet:"phist_src_ipt,list"`
	PHistDstIPT     []int32   `parquet:"phist_dst_ipt,list"`
	Day             string    `parquet:"day"`
}
