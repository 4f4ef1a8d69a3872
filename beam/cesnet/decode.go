package cesnet

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Reject is a row that could not be decoded or broke an invariant. It names
// the file, the 1-based line, the column and the reason, and keeps the raw
// row text. It implements error so Decoder.Read can return it; reading goes
// on after a Reject.
type Reject struct {
	File   string `parquet:"file"`
	Line   int64  `parquet:"line"`
	Column string `parquet:"column"`
	Reason string `parquet:"reason"`
	Raw    string `parquet:"raw"`
	Day    string `parquet:"day"`
	Week   string `parquet:"week"`
}

func (r *Reject) Error() string {
	return fmt.Sprintf("%s:%d: column %s: %s", r.File, r.Line, r.Column, r.Reason)
}

// ErrHeader marks a file whose header cannot be used (a required column is
// missing or a column is named twice). The whole file is unreadable.
var ErrHeader = errors.New("schema: bad header")

// Decoder reads the rows of one CESNET-TLS-Year22 day file.
//
// Read returns nil for a good row, a *Reject for a bad one (and the caller
// goes on reading), io.EOF at the end, and any other error when the input
// itself fails. A zero-byte file (a day without data) reads as io.EOF at once.
type Decoder struct {
	file    string
	day     string
	week    string
	r       *rowReader
	idx     [numColumns]int // field index of each column, -1 when absent
	nfields int
	missing []string
	extra   []string
	started bool
	empty   bool
	rows    int64
	rejects int64
}

// NewDecoder returns a decoder for the day file named file (used in rejects
// and to derive the day and week from the file name when it follows the
// layout; otherwise Day and Week stay empty) reading decompressed CSV from r.
func NewDecoder(r io.Reader, file string) *Decoder {
	d := &Decoder{file: strings.ToValidUTF8(file, "\uFFFD")} // rejects.file is a string column
	if day, err := DayOfFile(file); err == nil {
		d.day = day.Format(DayLayout)
		d.week = WeekLabel(day)
	}
	d.r = newRowReader(r)
	return d
}

// SetDay overrides the day (and week) assigned to every row.
func (d *Decoder) SetDay(day time.Time) {
	d.day = day.Format(DayLayout)
	d.week = WeekLabel(day)
}

func (d *Decoder) header() error {
	d.started = true
	rec, err := d.r.read()
	if err == io.EOF {
		d.empty = true
		return io.EOF
	}
	if err != nil {
		var ce *errCSV
		if errors.As(err, &ce) {
			return fmt.Errorf("%w: %s: %v", ErrHeader, d.file, err)
		}
		return fmt.Errorf("reading header: %w", err)
	}
	for i := range d.idx {
		d.idx[i] = -1
	}
	pos := make(map[string]int, len(Columns))
	for i, c := range Columns {
		pos[c] = i
	}
	d.nfields = len(rec)
	for i, name := range rec {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		c, ok := pos[name]
		if !ok {
			d.extra = append(d.extra, name)
			continue
		}
		if d.idx[c] >= 0 {
			return fmt.Errorf("%w: %s: column %s named twice", ErrHeader, d.file, name)
		}
		d.idx[c] = i
	}
	for i, c := range Columns {
		if d.idx[i] < 0 {
			d.missing = append(d.missing, c)
		}
	}
	for _, c := range RequiredColumns {
		if d.idx[pos[c]] < 0 {
			return fmt.Errorf("%w: %s: required column %s missing", ErrHeader, d.file, c)
		}
	}
	return nil
}

// Missing returns the known columns absent from the header (decoded as zero).
func (d *Decoder) Missing() []string { return d.missing }

// Extra returns the header columns the decoder does not know (ignored).
func (d *Decoder) Extra() []string { return d.extra }

// Empty reports whether the file had no header at all (a day without data).
func (d *Decoder) Empty() bool { return d.empty }

// Rows returns the number of data rows read so far, good and rejected.
func (d *Decoder) Rows() int64 { return d.rows }

// Rejects returns the number of rejected rows so far.
func (d *Decoder) Rejects() int64 { return d.rejects }

// Read decodes the next row into f, reusing f's slices.
func (d *Decoder) Read(f *Flow) error {
	if !d.started {
		if err := d.header(); err != nil {
			return err
		}
	}
	rec, err := d.r.read()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		var ce *errCSV
		if errors.As(err, &ce) {
			d.rows++
			return d.reject(d.r.start, "(row)", ce.msg)
		}
		return fmt.Errorf("reading row %d: %w", d.rows+1, err)
	}
	d.rows++
	if len(rec) != d.nfields {
		return d.reject(d.r.start, "(row)", fmt.Sprintf("%d fields, header has %d", len(rec), d.nfields))
	}
	if col, reason := d.decode(rec, f); reason != "" {
		return d.reject(d.r.start, col, reason)
	}
	return nil
}

// Bounds on what a reject keeps, so that one huge junk line stays a small,
// readable row of the rejects table.
const (
	MaxRejectRaw    = 4096 // bytes of raw row text kept
	MaxRejectReason = 512  // bytes of reason kept
)

// MaxSNI is the longest TLS server name accepted: a DNS host name is at
// most 253 bytes; RFC 6066 leaves 255 to the name list entry.
const MaxSNI = 255

// maxText bounds the other free-text fields (addresses, JA3 hashes).
const maxText = 255

func (d *Decoder) reject(line int, col, reason string) *Reject {
	d.rejects++
	raw := d.r.raw
	if len(reason) > MaxRejectReason {
		reason = Clip(reason, MaxRejectReason) + "…"
	}
	if len(raw) > MaxRejectRaw {
		reason += fmt.Sprintf(" [raw text %d bytes, first %d kept]", len(raw), MaxRejectRaw)
	}
	// Clone: in chunk mode the raw text shares the chunk's bytes.
	return &Reject{File: d.file, Line: int64(line), Column: col, Reason: strings.Clone(reason),
		Raw: strings.Clone(Clip(raw, MaxRejectRaw)), Day: d.day, Week: d.week}
}

// Clip returns s cut to at most n bytes and made valid UTF-8 (bad bytes
// become U+FFFD, and a rune cut in half is dropped), so that every string
// written to a table is readable by Arrow.
func Clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] // bounds the work below; a cut rune is handled there
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > n { // replacements made it longer again
		s = s[:n]
	}
	// Drop a trailing partial rune rather than turn it into U+FFFD.
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				s = s[:i]
			}
			break
		}
	}
	return s
}

// checkText reports a free-text field that is not valid UTF-8 or longer
// than limit bytes.
func checkText(s string, limit int) string {
	if len(s) > limit {
		return fmt.Sprintf("%d bytes, at most %d allowed", len(s), limit)
	}
	if !utf8.ValidString(s) {
		for i, r := range s {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
					return fmt.Sprintf("invalid UTF-8 at byte %d", i)
				}
			}
		}
	}
	return ""
}

func (d *Decoder) field(rec []string, c int) (string, bool) {
	i := d.idx[c]
	if i < 0 {
		return "", false
	}
	return rec[i], true
}

// decode fills f from one record and checks the invariants. It returns the
// offending column and a reason, or "" when the row is good.
func (d *Decoder) decode(rec []string, f *Flow) (string, string) {
	ipt, dir, size, push := f.PPIIPT[:0], f.PPIDir[:0], f.PPISize[:0], f.PPIPush[:0]
	hists := [4][]int32{f.PHistSrcSizes[:0], f.PHistDstSizes[:0], f.PHistSrcIPT[:0], f.PHistDstIPT[:0]}
	*f = Flow{Day: d.day, Week: d.week}

	ints := []struct {
		col int
		dst *int64
	}{{colID, &f.ID}, {colDstASN, &f.DstASN}, {colBytes, &f.Bytes}, {colBytesRev, &f.BytesRev},
		{colPackets, &f.Packets}, {colPacketsRev, &f.PacketsRev}}
	for _, x := range ints {
		if s, ok := d.field(rec, x.col); ok {
			v, err := parseInt(s)
			if err != nil {
				return Columns[x.col], err.Error()
			}
			if v < 0 && x.col != colID {
				return Columns[x.col], fmt.Sprintf("negative value %d", v)
			}
			*x.dst = v
		}
	}
	small := []struct {
		col int
		dst *int32
	}{{colDstPort, &f.DstPort}, {colProtocol, &f.Protocol}, {colPPILen, &f.PPILen}, {colPPIRoundtrips, &f.PPIRoundtrips}}
	for _, x := range small {
		if s, ok := d.field(rec, x.col); ok {
			v, err := parseInt(s)
			if err != nil {
				return Columns[x.col], err.Error()
			}
			if v < 0 || v > math.MaxInt32 {
				return Columns[x.col], fmt.Sprintf("value %d out of range", v)
			}
			*x.dst = int32(v)
		}
	}
	floats := []struct {
		col int
		dst *float64
	}{{colDuration, &f.Duration}, {colPPIDuration, &f.PPIDuration}}
	for _, x := range floats {
		if s, ok := d.field(rec, x.col); ok {
			v, err := parseFloat(s)
			if err != nil {
				return Columns[x.col], err.Error()
			}
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return Columns[x.col], fmt.Sprintf("value %v not a non-negative number", v)
			}
			*x.dst = v
		}
	}
	for _, x := range [...]struct {
		col   int
		dst   *string
		limit int
	}{{colSrcIP, &f.SrcIP, maxText}, {colDstIP, &f.DstIP, maxText}, {colSNI, &f.TLSSNI, MaxSNI}, {colJA3, &f.TLSJA3, maxText}} {
		*x.dst, _ = d.field(rec, x.col)
		if reason := checkText(*x.dst, x.limit); reason != "" {
			return Columns[x.col], reason
		}
	}
	for _, x := range []struct {
		col int
		dst *time.Time
	}{{colTimeFirst, &f.TimeFirst}, {colTimeLast, &f.TimeLast}} {
		if s, ok := d.field(rec, x.col); ok {
			t, err := ParseTime(s)
			if err != nil {
				return Columns[x.col], err.Error()
			}
			*x.dst = t
		}
	}
	f.App, _ = d.field(rec, colApp)
	if _, ok := appIndex[f.App]; !ok {
		return "APP", fmt.Sprintf("unknown service %q", f.App)
	}
	f.Category, _ = d.field(rec, colCategory)
	if _, ok := catIndex[f.Category]; !ok {
		return "CATEGORY", fmt.Sprintf("unknown category %q", f.Category)
	}
	flags := [...]*bool{&f.FlagCWR, &f.FlagCWRRev, &f.FlagECE, &f.FlagECERev, &f.FlagURG, &f.FlagURGRev,
		&f.FlagACK, &f.FlagACKRev, &f.FlagPSH, &f.FlagPSHRev, &f.FlagRST, &f.FlagRSTRev,
		&f.FlagSYN, &f.FlagSYNRev, &f.FlagFIN, &f.FlagFINRev,
		&f.EndReasonIdle, &f.EndReasonActive, &f.EndReasonEnd, &f.EndReasonOther}
	for i, dst := range flags {
		if s, ok := d.field(rec, colFlagCWR+i); ok {
			v, err := ParseBool(s)
			if err != nil {
				return Columns[colFlagCWR+i], fmt.Sprintf("%q: %v", s, err)
			}
			*dst = v
		}
	}

	s, _ := d.field(rec, colPPI)
	var lists int
	var err error
	ipt, dir, size, push, lists, err = ParsePPI(s, ipt, dir, size, push)
	f.PPIIPT, f.PPIDir, f.PPISize, f.PPIPush = ipt, dir, size, push
	if err != nil {
		return "PPI", err.Error()
	}
	if lists != 3 && lists != 4 && !(lists == 0 && f.PPILen == 0) {
		return "PPI", fmt.Sprintf("%d lists, want 3 or 4", lists)
	}
	n := int(f.PPILen)
	if n > PPIMaxLen {
		return "PPI_LEN", fmt.Sprintf("%d > %d", n, PPIMaxLen)
	}
	if len(ipt) != n || len(dir) != n || len(size) != n || (lists == 4 && len(push) != n) {
		return "PPI", fmt.Sprintf("list lengths %d/%d/%d/%d differ from PPI_LEN %d", len(ipt), len(dir), len(size), len(push), n)
	}
	for i := 0; i < n; i++ {
		if dir[i] != 1 && dir[i] != -1 {
			return "PPI", fmt.Sprintf("packet %d: direction %d, want 1 or -1", i+1, dir[i])
		}
		if ipt[i] < 0 {
			return "PPI", fmt.Sprintf("packet %d: negative inter-packet time %d", i+1, ipt[i])
		}
		if size[i] < 0 || size[i] > 65535 {
			return "PPI", fmt.Sprintf("packet %d: size %d out of range", i+1, size[i])
		}
		if lists == 4 && push[i] != 0 && push[i] != 1 {
			return "PPI", fmt.Sprintf("packet %d: push flag %d, want 0 or 1", i+1, push[i])
		}
	}
	if f.Packets+f.PacketsRev < int64(n) {
		return "PACKETS", fmt.Sprintf("PACKETS+PACKETS_REV %d < PPI_LEN %d", f.Packets+f.PacketsRev, n)
	}
	for i, c := range []int{colPHistSrcSizes, colPHistDstSizes, colPHistSrcIPT, colPHistDstIPT} {
		s, ok := d.field(rec, c)
		if !ok {
			continue
		}
		h, err := ParseHist(s, hists[i])
		hists[i] = h
		if err != nil {
			return Columns[c], err.Error()
		}
		for _, v := range h {
			if v < 0 {
				return Columns[c], fmt.Sprintf("negative bin %d", v)
			}
		}
	}
	f.PHistSrcSizes, f.PHistDstSizes, f.PHistSrcIPT, f.PHistDstIPT = hists[0], hists[1], hists[2], hists[3]
	return "", ""
}
