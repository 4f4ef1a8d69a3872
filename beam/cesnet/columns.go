package cesnet

// Columns is the header of a CESNET-TLS-Year22 day file, in file order (45
// columns). The decoder maps columns by name, so the order of a file may
// differ; the encoder writes exactly this order.
var Columns = []string{
	"ID", "SRC_IP", "DST_IP", "DST_ASN", "DST_PORT", "PROTOCOL", "TLS_SNI", "TLS_JA3",
	"TIME_FIRST", "TIME_LAST", "DURATION", "BYTES", "BYTES_REV", "PACKETS", "PACKETS_REV",
	"PPI_LEN", "PPI_DURATION", "PPI_ROUNDTRIPS", "APP", "CATEGORY",
	"FLAG_CWR", "FLAG_CWR_REV", "FLAG_ECE", "FLAG_ECE_REV", "FLAG_URG", "FLAG_URG_REV",
	"FLAG_ACK", "FLAG_ACK_REV", "FLAG_PSH", "FLAG_PSH_REV", "FLAG_RST", "FLAG_RST_REV",
	"FLAG_SYN", "FLAG_SYN_REV", "FLAG_FIN", "FLAG_FIN_REV",
	"FLOW_ENDREASON_IDLE", "FLOW_ENDREASON_ACTIVE", "FLOW_ENDREASON_END", "FLOW_ENDREASON_OTHER",
	"PPI", "PHIST_SRC_SIZES", "PHIST_DST_SIZES", "PHIST_SRC_IPT", "PHIST_DST_IPT",
}

// RequiredColumns must be present in a file's header; without them a row
// cannot be labelled, counted or used as a model input. Every other column
// of Columns is optional and decodes to its zero value when absent.
var RequiredColumns = []string{
	"TIME_FIRST", "BYTES", "BYTES_REV", "PACKETS", "PACKETS_REV", "PPI_LEN", "PPI", "APP", "CATEGORY",
}

const (
	colID = iota
	colSrcIP
	colDstIP
	colDstASN
	colDstPort
	colProtocol
	colSNI
	colJA3
	colTimeFirst
	colTimeLast
	colDuration
	colBytes
	colBytesRev
	colPackets
	colPacketsRev
	colPPILen
	colPPIDuration
	colPPIRoundtrips
	colApp
	colCategory
	colFlagCWR // first of 16 flag columns, in Columns order
)

const (
	colEndIdle = colFlagCWR + 16 + iota
	colEndActive
	colEndEnd
	colEndOther
	colPPI
	colPHistSrcSizes
	colPHistDstSizes
	colPHistSrcIPT
	colPHistDstIPT
	numColumns
)
