package cesnet

import (
	"bufio"
	"io"
	"strconv"
)

// Encoder writes flows as a day file in the published format: the 45
// columns of Columns, TCP flags as 0/1, end reasons as True/False, PPI as
// four bracketed lists and PHIST_* as 8-bin lists, quoted because they
// contain commas. The output decodes back to the same Flow.
type Encoder struct {
	w   *bufio.Writer
	buf []byte
	hdr bool
}

// NewEncoder returns an encoder writing to w. Call Flush at the end.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 1<<16)}
}

// Write appends one row (and the header before the first row).
func (e *Encoder) Write(f *Flow) error {
	if !e.hdr {
		e.hdr = true
		b := e.buf[:0]
		for i, c := range Columns {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, c...)
		}
		b = append(b, '\n')
		if _, err := e.w.Write(b); err != nil {
			return err
		}
	}
	b := e.buf[:0]
	b = strconv.AppendInt(b, f.ID, 10)
	b = appendField(b, f.SrcIP)
	b = appendField(b, f.DstIP)
	b = append(b, ',')
	b = strconv.AppendInt(b, f.DstASN, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(f.DstPort), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(f.Protocol), 10)
	b = appendField(b, f.TLSSNI)
	b = appendField(b, f.TLSJA3)
	b = appendField(b, FormatTime(f.TimeFirst))
	b = appendField(b, FormatTime(f.TimeLast))
	b = append(b, ',')
	b = strconv.AppendFloat(b, f.Duration, 'f', -1, 64)
	for _, v := range []int64{f.Bytes, f.BytesRev, f.Packets, f.PacketsRev, int64(f.PPILen)} {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, ',')
	b = strconv.AppendFloat(b, f.PPIDuration, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(f.PPIRoundtrips), 10)
	b = appendField(b, f.App)
	b = appendField(b, f.Category)
	for _, v := range []bool{f.FlagCWR, f.FlagCWRRev, f.FlagECE, f.FlagECERev, f.FlagURG, f.FlagURGRev,
		f.FlagACK, f.FlagACKRev, f.FlagPSH, f.FlagPSHRev, f.FlagRST, f.FlagRSTRev,
		f.FlagSYN, f.FlagSYNRev, f.FlagFIN, f.FlagFINRev} {
		if v {
			b = append(b, ",1"...)
		} else {
			b = append(b, ",0"...)
		}
	}
	for _, v := range []bool{f.EndReasonIdle, f.EndReasonActive, f.EndReasonEnd, f.EndReasonOther} {
		if v {
			b = append(b, ",True"...)
		} else {
			b = append(b, ",False"...)
		}
	}
	b = append(b, `,"[`...)
	lists := [][]int32{f.PPIIPT, f.PPIDir, f.PPISize, f.PPIPush}
	if len(f.PPIPush) == 0 && f.PPILen > 0 {
		lists = lists[:3]
	}
	if f.PPILen > 0 || len(f.PPIPush) > 0 {
		for i, l := range lists {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendList(b, l)
		}
	}
	b = append(b, `]"`...)
	for _, h := range [][]int32{f.PHistSrcSizes, f.PHistDstSizes, f.PHistSrcIPT, f.PHistDstIPT} {
		b = append(b, `,"`...)
		b = appendList(b, h)
		b = append(b, '"')
	}
	b = append(b, '\n')
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

// Flush writes buffered rows to the underlying writer.
func (e *Encoder) Flush() error { return e.w.Flush() }

func appendList(b []byte, l []int32) []byte {
	b = append(b, '[')
	for i, v := range l {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, ']')
}

// appendField appends ",s", quoting s when it holds a comma, quote or
// newline (SNI and IP text never do in the published files).
func appendField(b []byte, s string) []byte {
	b = append(b, ',')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			b = append(b, '"')
			for j := 0; j < len(s); j++ {
				if s[j] == '"' {
					b = append(b, '"')
				}
				b = append(b, s[j])
			}
			return append(b, '"')
		}
	}
	return append(b, s...)
}
