package synth

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"

	"github.com/telcotraffic/telcotraffic/tasks/internal/holidays"
)

// Profile describes a dataset the way DATASET.md describes the real one, so
// generated data can be compared with it (and with real files).
type Profile struct {
	Rows    int64
	Rejects int64
	Days    []DayCount
	// App and category shares of all rows, largest first.
	Apps       []Share
	Categories []Share
	// Mean rows per working day and per day off (weekend or holiday) among
	// days with data, and their ratio.
	WorkdayMean, OffMean, OffRatio float64
	// MonthMean is the mean rows per data day of each month present
	// ("2022-06").
	MonthMean map[string]float64
	// Hour is the share of rows starting in each local (Prague) hour.
	Hour [24]float64
	// PrevUTCDay is the share of rows whose TIME_FIRST (UTC) falls before
	// the day of their file.
	PrevUTCDay float64
	// PPI_LEN: median, share of 30 and share below 5.
	PPILenMedian        int
	PPILen30, PPILenLT5 float64
	// End reasons: idle, active, end, other.
	EndReasons [4]float64
	// SNILabelled is the share of rows LabelBySNI labels with their APP.
	SNILabelled float64
}

// DayCount is one day file's row count.
type DayCount struct {
	Day  string
	Rows int64
	Off  bool
}

// Share is a label's share of rows.
type Share struct {
	Name  string
	Rows  int64
	Share float64
}

// Describe reads every day file under root through the schema decoder.
// holidayDays marks days off besides weekends (nil: Czech holidays).
func Describe(ctx context.Context, root string, holidayDays []time.Time) (Profile, error) {
	files, err := cesnet.FindDayFiles(root, time.Time{}, time.Time{})
	if err != nil {
		return Profile{}, err
	}
	if len(files) == 0 {
		return Profile{}, fmt.Errorf("synth: no day files under %s", root)
	}
	if holidayDays == nil {
		for y := files[0].Day.Year(); y <= files[len(files)-1].Day.Year(); y++ {
			holidayDays = append(holidayDays, holidays.Czech(y)...)
		}
	}
	cal := newCalendar(holidayDays, nil)
	var p Profile
	apps := map[string]int64{}
	cats := map[string]int64{}
	var hours [24]int64
	var prev, sniOK, len30, lenLT5 int64
	var ends [4]int64
	lens := make([]int64, cesnet.PPIMaxLen+1)
	month := map[string][2]float64{}
	for _, fi := range files {
		dayStart := fi.Day.Unix()
		var rows int64
		c, err := cesnet.DecodeFile(ctx, fi.Path, cesnet.XZAuto, func(f *cesnet.Flow) error {
			rows++
			apps[f.App]++
			cats[f.Category]++
			u := f.TimeFirst.Unix()
			if u < dayStart {
				prev++
			}
			local := u + pragueOffset(u)
			hours[(local%86400+86400)%86400/3600]++
			if app, _ := LabelBySNI(f.TLSSNI); app == f.App {
				sniOK++
			}
			lens[f.PPILen]++
			if f.PPILen == cesnet.PPIMaxLen {
				len30++
			}
			if f.PPILen < 5 {
				lenLT5++
			}
			for i, b := range []bool{f.EndReasonIdle, f.EndReasonActive, f.EndReasonEnd, f.EndReasonOther} {
				if b {
					ends[i]++
				}
			}
			return nil
		}, nil)
		if err != nil {
			return p, err
		}
		p.Rows += c.Good
		p.Rejects += c.Rejects
		p.Days = append(p.Days, DayCount{Day: fi.Day.Format(dayLayout), Rows: rows, Off: cal.isOff(fi.Day)})
		if rows > 0 {
			m := month[fi.Day.Format("2006-01")]
			month[fi.Day.Format("2006-01")] = [2]float64{m[0] + float64(rows), m[1] + 1}
		}
	}
	var work, off [2]float64
	for _, d := range p.Days {
		if d.Rows == 0 {
			continue
		}
		if d.Off {
			off[0] += float64(d.Rows)
			off[1]++
		} else {
			work[0] += float64(d.Rows)
			work[1]++
		}
	}
	if work[1] > 0 {
		p.WorkdayMean = work[0] / work[1]
	}
	if off[1] > 0 {
		p.OffMean = off[0] / off[1]
	}
	if p.WorkdayMean > 0 {
		p.OffRatio = p.OffMean / p.WorkdayMean
	}
	p.MonthMean = map[string]float64{}
	for k, v := range month {
		p.MonthMean[k] = v[0] / v[1]
	}
	if p.Rows == 0 {
		return p, nil
	}
	n := float64(p.Rows)
	p.Apps = shares(apps, n)
	p.Categories = shares(cats, n)
	for h := range hours {
		p.Hour[h] = float64(hours[h]) / n
	}
	p.PrevUTCDay = float64(prev) / n
	p.SNILabelled = float64(sniOK) / n
	p.PPILen30 = float64(len30) / n
	p.PPILenLT5 = float64(lenLT5) / n
	for i := range ends {
		p.EndReasons[i] = float64(ends[i]) / n
	}
	var acc int64
	for l, c := range lens {
		acc += c
		if acc*2 >= p.Rows {
			p.PPILenMedian = l
			break
		}
	}
	return p, nil
}

func shares(m map[string]int64, n float64) []Share {
	out := make([]Share, 0, len(m))
	for k, v := range m {
		out = append(out, Share{Name: k, Rows: v, Share: float64(v) / n})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Rows > out[j].Rows || out[i].Rows == out[j].Rows && out[i].Name < out[j].Name
	})
	return out
}

// WriteTo prints the profile as a short report.
func (p Profile) WriteTo(w io.Writer) (int64, error) {
	var n int64
	pf := func(format string, a ...any) {
		m, _ := fmt.Fprintf(w, format, a...)
		n += int64(m)
	}
	pf("rows %d (rejects %d) in %d day files, %d apps, %d categories\n", p.Rows, p.Rejects, len(p.Days), len(p.Apps), len(p.Categories))
	pf("working-day mean %.0f, day-off mean %.0f, ratio %.3f\n", p.WorkdayMean, p.OffMean, p.OffRatio)
	months := make([]string, 0, len(p.MonthMean))
	for k := range p.MonthMean {
		months = append(months, k)
	}
	sort.Strings(months)
	for _, k := range months {
		pf("month %s: %.0f rows/day\n", k, p.MonthMean[k])
	}
	pf("rows on the previous UTC day %.2f %%; SNI rules label %.3f %% of rows correctly\n", 100*p.PrevUTCDay, 100*p.SNILabelled)
	pf("PPI_LEN median %d, =30 %.1f %%, <5 %.1f %%; end idle %.1f %% active %.1f %% end %.1f %% other %.2f %%\n",
		p.PPILenMedian, 100*p.PPILen30, 100*p.PPILenLT5, 100*p.EndReasons[0], 100*p.EndReasons[1], 100*p.EndReasons[2], 100*p.EndReasons[3])
	pf("hour-of-day (Prague) %%:")
	for h, v := range p.Hour {
		if h%12 == 0 {
			pf("\n ")
		}
		pf(" %02d:%4.1f", h, 100*v)
	}
	pf("\ncategories:\n")
	for _, s := range p.Categories {
		pf("  %-24s %6.2f %%\n", s.Name, 100*s.Share)
	}
	pf("top apps:\n")
	for _, s := range p.Apps[:min(12, len(p.Apps))] {
		pf("  %-24s %6.2f %%\n", s.Name, 100*s.Share)
	}
	pf("bottom apps:\n")
	for _, s := range p.Apps[max(0, len(p.Apps)-8):] {
		pf("  %-24s %8.5f %%  (%d rows)\n", s.Name, 100*s.Share, s.Rows)
	}
	var below1e3, below1e4 int
	for _, s := range p.Apps {
		if s.Share < 1e-3 {
			below1e3++
		}
		if s.Share < 1e-4 {
			below1e4++
		}
	}
	pf("apps below 1e-3: %d, below 1e-4: %d; top/bottom share ratio %.0f\n", below1e3, below1e4,
		p.Apps[0].Share/math.Max(p.Apps[len(p.Apps)-1].Share, 1e-12))
	return n, nil
}
