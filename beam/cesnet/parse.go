package cesnet

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ParsePPI decodes the PPI field: three or four bracketed lists of integers
// ([[ipt...], [dir...], [size...]] or with a fourth list of push flags), as
// JSON-like text with optional spaces. It appends the lists to the given
// slices and returns them with the number of lists found. It checks syntax
// only; the Decoder checks the invariants.
func ParsePPI(s string, ipt, dir, size, push []int32) (nIPT, nDir, nSize, nPush []int32, lists int, err error) {
	p := scanner{s: s}
	p.space()
	if !p.eat('[') {
		return ipt, dir, size, push, 0, p.fail("want '['")
	}
	dst := [4]*[]int32{&ipt, &dir, &size, &push}
	for {
		p.space()
		if lists == 0 && p.eat(']') { // "[]": an empty PPI
			break
		}
		if lists == 4 {
			return ipt, dir, size, push, lists, p.fail("more than 4 lists")
		}
		*dst[lists], err = p.intList(*dst[lists])
		if err != nil {
			return ipt, dir, size, push, lists, err
		}
		lists++
		p.space()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			break
		}
		return ipt, dir, size, push, lists, p.fail("want ',' or ']'")
	}
	p.space()
	if p.i != len(p.s) {
		return ipt, dir, size, push, lists, p.fail("trailing text")
	}
	return ipt, dir, size, push, lists, nil
}

// ParseHist decodes an 8-bin PHIST_* field such as "[0, 1, 2, 0, 4, 1, 1, 0]".
func ParseHist(s string, dst []int32) ([]int32, error) {
	p := scanner{s: s}
	p.space()
	out, err := p.intList(dst)
	if err != nil {
		return dst, err
	}
	p.space()
	if p.i != len(p.s) {
		return out, p.fail("trailing text")
	}
	if n := len(out) - len(dst); n != PHistBins {
		return out, fmt.Errorf("want %d bins, got %d", PHistBins, n)
	}
	return out, nil
}

type scanner struct {
	s string
	i int
}

func (p *scanner) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) fail(msg string) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("%s at end of text", msg)
	}
	return fmt.Errorf("%s at offset %d (%q)", msg, p.i, p.s[p.i])
}

// intList parses "[1, -2, 3]" and appends the values to dst. It is the
// decoder's hot loop (up to 120 integers per row), so it works on local
// copies of the scanner's state.
func (p *scanner) intList(dst []int32) ([]int32, error) {
	s, i := p.s, p.i
	if i >= len(s) || s[i] != '[' {
		return dst, p.fail("want '['")
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == ']' {
		p.i = i + 1
		return dst, nil
	}
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		neg := false
		if i < len(s) && s[i] == '-' {
			neg = true
			i++
		}
		start := i
		var v int64
		for i < len(s) {
			c := s[i] - '0'
			if c > 9 {
				break
			}
			v = v*10 + int64(c)
			i++
			if v > 1<<31 {
				return dst, fmt.Errorf("integer out of range at offset %d", start)
			}
		}
		if i == start {
			p.i = i
			return dst, p.fail("want integer")
		}
		if neg {
			v = -v
		}
		if v > 1<<31-1 {
			return dst, fmt.Errorf("integer out of range at offset %d", start)
		}
		dst = append(dst, int32(v))
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) {
			switch s[i] {
			case ',':
				i++
				continue
			case ']':
				p.i = i + 1
				return dst, nil
			}
		}
		p.i = i
		return dst, p.fail("want ',' or ']'")
	}
}

var errBadBool = errors.New("want True, False, 1 or 0")

// ParseBool accepts the spellings of the dataset: True/False (pandas),
// true/false, TRUE/FALSE and 1/0.
func ParseBool(s string) (bool, error) {
	switch s {
	case "1", "True", "true", "TRUE":
		return true, nil
	case "0", "False", "false", "FALSE":
		return false, nil
	}
	return false, errBadBool
}

// ParseTime parses a naive UTC timestamp as found in the files:
// YYYY-MM-DDTHH:MM:SS with an optional fraction of up to 9 digits; the time
// separator may be ':' or '-' (the paper's spelling) and the date/time
// separator 'T' or ' '.
func ParseTime(s string) (time.Time, error) {
	if len(s) < 19 {
		return time.Time{}, fmt.Errorf("timestamp %q too short", s)
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	seps := s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
		(s[13] == ':' || s[13] == '-') && s[16] == s[13]
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && seps) {
		return time.Time{}, fmt.Errorf("timestamp %q: want YYYY-MM-DDTHH:MM:SS[.ffffff]", s)
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, fmt.Errorf("timestamp %q: field out of range", s)
	}
	nsec := 0
	if len(s) > 19 {
		if s[19] != '.' || len(s) == 20 || len(s) > 29 {
			return time.Time{}, fmt.Errorf("timestamp %q: bad fraction", s)
		}
		frac, ok := num(20, len(s)-20)
		if !ok {
			return time.Time{}, fmt.Errorf("timestamp %q: bad fraction", s)
		}
		for i := len(s) - 20; i < 9; i++ {
			frac *= 10
		}
		nsec = frac
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("timestamp %q: no such day", s)
	}
	return t, nil
}

// FormatTime writes a timestamp as the files do: microseconds when the time
// has a fraction, none otherwise.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

func parseInt(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok {
			return 0, fmt.Errorf("%q: %w", s, ne.Err)
		}
		return 0, err
	}
	return v, nil
}

func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok {
			return 0, fmt.Errorf("%q: %w", s, ne.Err)
		}
		return 0, err
	}
	return v, nil
}
