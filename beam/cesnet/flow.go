// Package cesnet owns the file format of the CESNET-TLS-Year22 dataset: the
// flow record (Flow, also the flows table row), the decoding and encoding of
// the raw day files, their layout and stats files, and the app catalog.
// Table row types live in beam/tablerow, the model's features in
// beam/featuredef.
//
// Raw layout (as published on Zenodo, record 10608607):
//
//	ROOT/WEEK-2022-NN/YYYY-MM-DD/flows-YYYYMMDD.csv.xz   (also .csv.gz or .csv)
//	ROOT/WEEK-2022-NN/YYYY-MM-DD/stats-YYYYMMDD.json
//	ROOT/WEEK-2022-NN/stats-week.json
//	ROOT/stats-dataset.json
//
// A day file is a CSV with one header row naming 45 columns (see Columns).
// Columns are mapped by header name, so a missing optional column or an
// extra one (SRC_PORT, listed in the paper but absent in the files) is
// tolerated. Days without data have zero-byte files (no header).
//
// Every row is checked against the invariants of the dataset (see Decoder);
// a row that breaks one becomes a Reject naming file, line, column and
// reason, and reading continues. Nothing is dropped silently.
package cesnet

import "time"

// Flow is one TLS flow record: every column of the raw CSV, typed.
// PPI is kept as four parallel lists of length PPILen (no padding).
// Day and Week are derived from the file's place in the layout, never from
// TIME_FIRST (the dataset files flows by local day, timestamps are UTC).
type Flow struct {
	ID            int64     `parquet:"id"`
	SrcIP         string    `parquet:"src_ip"`
	DstIP         string    `parquet:"dst_ip"`
	DstASN        int64     `parquet:"dst_asn"`
	DstPort       int32     `parquet:"dst_port"`
	Protocol      int32     `parquet:"protocol"`
	TLSSNI        string    `parquet:"tls_sni"`
	TLSJA3        string    `parquet:"tls_ja3"`
	TimeFirst     time.Time `parquet:"time_first,timestamp(microsecond)"`
	TimeLast      time.Time `parquet:"time_last,timestamp(microsecond)"`
	Duration      float64   `parquet:"duration"`
	Bytes         int64     `parquet:"bytes"`
	BytesRev      int64     `parquet:"bytes_rev"`
	Packets       int64     `parquet:"packets"`
	PacketsRev    int64     `parquet:"packets_rev"`
	PPILen        int32     `parquet:"ppi_len"`
	PPIDuration   float64   `parquet:"ppi_duration"`
	PPIRoundtrips int32     `parquet:"ppi_roundtrips"`
	App           string    `parquet:"app"`
	Category      string    `parquet:"category"`

	FlagCWR    bool `parquet:"flag_cwr"`
	FlagCWRRev bool `parquet:"flag_cwr_rev"`
	FlagECE    bool `parquet:"flag_ece"`
	FlagECERev bool `parquet:"flag_ece_rev"`
	FlagURG    bool `parquet:"flag_urg"`
	FlagURGRev bool `parquet:"flag_urg_rev"`
	FlagACK    bool `parquet:"flag_ack"`
	FlagACKRev bool `parquet:"flag_ack_rev"`
	FlagPSH    bool `parquet:"flag_psh"`
	FlagPSHRev bool `parquet:"flag_psh_rev"`
	FlagRST    bool `parquet:"flag_rst"`
	FlagRSTRev bool `parquet:"flag_rst_rev"`
	FlagSYN    bool `parquet:"flag_syn"`
	FlagSYNRev bool `parquet:"flag_syn_rev"`
	FlagFIN    bool `parquet:"flag_fin"`
	FlagFINRev bool `parquet:"flag_fin_rev"`

	EndReasonIdle   bool `parquet:"flow_endreason_idle"`
	EndReasonActive bool `parquet:"flow_endreason_active"`
	EndReasonEnd    bool `parquet:"flow_endreason_end"`
	EndReasonOther  bool `parquet:"flow_endreason_other"`

	// PPI: inter-packet time in ms (first is 0), direction (+1 client→server,
	// -1 server→client), L4 payload size in bytes, TCP PSH flag (0/1).
	// PPIPush is empty when the file carries only three PPI lists.
	PPIIPT  []int32 `parquet:"ppi_ipt,list"`
	PPIDir  []int32 `parquet:"ppi_dir,list"`
	PPISize []int32 `parquet:"ppi_size,list"`
	PPIPush []int32 `parquet:"ppi_push,list"`

	// 8-bin log histograms over the whole flow (bins 0-15, 16-31, 32-63,
	// 64-127, 128-255, 256-511, 512-1024, >1024; bytes or ms).
	PHistSrcSizes []int32 `parquet:"phist_src_sizes,list"`
	PHistDstSizes []int32 `parquet:"phist_dst_sizes,list"`
	PHistSrcIPT   []int32 `parquet:"phist_src_ipt,list"`
	PHistDstIPT   []int32 `parquet:"phist_dst_ipt,list"`

	// Day is the calendar day of the file (YYYY-MM-DD), Week the dataset
	// week folder label in table form ("2022-W10", "2022-W00").
	Day  string `parquet:"day"`
	Week string `parquet:"week"`
}

// PPIMaxLen is the longest packet sequence the exporter records.
const PPIMaxLen = 30

// PHistBins is the number of bins of each PHIST_* histogram.
const PHistBins = 8
