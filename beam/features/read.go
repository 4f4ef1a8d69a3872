package features

import (
	"context"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// flowColumns are the flows columns featuredef.Features reads, in the order
// readFlows assigns them.
var flowColumns = []string{
	"id", "dst_asn", "tls_sni", "tls_ja3", "time_first", "duration",
	"bytes", "bytes_rev", "packets", "packets_rev", "ppi_len", "ppi_duration", "ppi_roundtrips",
	"app", "category", "day", "week",
	"flag_cwr", "flag_cwr_rev", "flag_ece", "flag_ece_rev", "flag_urg", "flag_urg_rev",
	"flag_ack", "flag_ack_rev", "flag_psh", "flag_psh_rev", "flag_rst", "flag_rst_rev",
	"flag_syn", "flag_syn_rev", "flag_fin", "flag_fin_rev",
	"flow_endreason_idle", "flow_endreason_active", "flow_endreason_end", "flow_endreason_other",
	"ppi_ipt", "ppi_dir", "ppi_size", "ppi_push",
	"phist_src_sizes", "phist_dst_sizes", "phist_src_ipt", "phist_dst_ipt",
}

// featureFloats is the float32 count of one row's Stats, PHist and PPI.
var featureFloats = len(featuredef.FeatureStats) + 4*cesnet.PHistBins + cesnet.PPIMaxLen*featuredef.PPIChannels

// slabRows is the number of rows whose feature floats share one allocation.
const slabRows = 1024

// readFlows reads the flows of a unit column by column (deltaio.ReadUnitColumns)
// and calls fn with each row of a selected week and a fresh slice of
// featureFloats float32s for its features. The row is reused between calls;
// its strings and slices are fresh memory.
func readFlows(ctx context.Context, tab *lakehouse.Table, partCols, weeks []string, elem string, fn func(*cesnet.Flow, []float32) error) (deltaio.Unit, error) {
	selected := make(map[string]bool, len(weeks))
	for _, w := range weeks {
		selected[w] = true
	}
	var slab []float32
	var r cesnet.Flow
	return deltaio.ReadUnitColumns(ctx, tab, partCols, weeks, elem, flowColumns, func(b *deltaio.Batch) error {
		c := b.Cols
		list := func(col *deltaio.Column, i int) []int32 {
			lo, hi := col.Off[i], col.Off[i+1]
			return col.Int32[lo:hi:hi]
		}
		for i := 0; i < b.Rows; i++ {
			if !selected[c[16].Str[i]] {
				continue
			}
			r = cesnet.Flow{
				ID: c[0].Int64[i], DstASN: c[1].Int64[i], TLSSNI: c[2].Str[i], TLSJA3: c[3].Str[i],
				TimeFirst: time.UnixMicro(c[4].Int64[i]).UTC(), Duration: c[5].Float64[i],
				Bytes: c[6].Int64[i], BytesRev: c[7].Int64[i], Packets: c[8].Int64[i], PacketsRev: c[9].Int64[i],
				PPILen: c[10].Int32[i], PPIDuration: c[11].Float64[i], PPIRoundtrips: c[12].Int32[i],
				App: c[13].Str[i], Category: c[14].Str[i], Day: c[15].Str[i], Week: c[16].Str[i],
				FlagCWR: c[17].Bool[i], FlagCWRRev: c[18].Bool[i], FlagECE: c[19].Bool[i], FlagECERev: c[20].Bool[i],
				FlagURG: c[21].Bool[i], FlagURGRev: c[22].Bool[i], FlagACK: c[23].Bool[i], FlagACKRev: c[24].Bool[i],
				FlagPSH: c[25].Bool[i], FlagPSHRev: c[26].Bool[i], FlagRST: c[27].Bool[i], FlagRSTRev: c[28].Bool[i],
				FlagSYN: c[29].Bool[i], FlagSYNRev: c[30].Bool[i], FlagFIN: c[31].Bool[i], FlagFINRev: c[32].Bool[i],
				EndReasonIdle: c[33].Bool[i], EndReasonActive: c[34].Bool[i], EndReasonEnd: c[35].Bool[i], EndReasonOther: c[36].Bool[i],
				PPIIPT: list(&c[37], i), PPIDir: list(&c[38], i), PPISize: list(&c[39], i), PPIPush: list(&c[40], i),
				PHistSrcSizes: list(&c[41], i), PHistDstSizes: list(&c[42], i), PHistSrcIPT: list(&c[43], i), PHistDstIPT: list(&c[44], i),
			}
			if len(slab) < featureFloats {
				slab = make([]float32, slabRows*featureFloats)
			}
			mem := slab[:featureFloats:featureFloats]
			slab = slab[featureFloats:]
			if err := fn(&r, mem); err != nil {
				return err
			}
		}
		return nil
	})
}
