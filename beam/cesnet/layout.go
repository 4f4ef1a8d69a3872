package cesnet

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"time"
)

// DayLayout is the date layout of day folders and flow file names.
const DayLayout = "2006-01-02"

// WeekNumber returns the dataset week of a day: the ISO week number, except
// that the first days of January that belong to the previous ISO year are
// week 0 (2022-01-01 and 2022-01-02 sit in WEEK-2022-00), and the last days
// of December that belong to the next ISO year are week 53.
func WeekNumber(day time.Time) int {
	y, w := day.ISOWeek()
	switch {
	case y < day.Year():
		return 0
	case y > day.Year():
		return 53
	}
	return w
}

// WeekFolder returns the week folder name of a day, e.g. "WEEK-2022-10".
func WeekFolder(day time.Time) string {
	return fmt.Sprintf("WEEK-%d-%02d", day.Year(), WeekNumber(day))
}

// WeekLabel returns the table form of a day's week, e.g. "2022-W10".
func WeekLabel(day time.Time) string {
	return fmt.Sprintf("%d-W%02d", day.Year(), WeekNumber(day))
}

// DayFile returns the path of a day's flow file relative to the dataset
// root, with the given extension ("csv.xz", "csv.gz" or "csv").
func DayFile(day time.Time, ext string) string {
	return path.Join(WeekFolder(day), day.Format(DayLayout), "flows-"+day.Format("20060102")+"."+ext)
}

// DayStatsFile returns the path of a day's stats file relative to the root.
func DayStatsFile(day time.Time) string {
	return path.Join(WeekFolder(day), day.Format(DayLayout), "stats-"+day.Format("20060102")+".json")
}

// WeekStatsFile returns the path of a week's stats file relative to the root.
func WeekStatsFile(day time.Time) string {
	return path.Join(WeekFolder(day), "stats-week.json")
}

var dayFileRE = regexp.MustCompile(`flows-(\d{8})\.csv(\.xz|\.gz)?$`)

// DayOfFile returns the day a flow file holds, from its name
// (flows-YYYYMMDD.csv[.xz|.gz]).
func DayOfFile(name string) (time.Time, error) {
	m := dayFileRE.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, fmt.Errorf("schema: %s: not a flow file name (want flows-YYYYMMDD.csv[.xz|.gz])", name)
	}
	d, err := time.Parse("20060102", m[1])
	if err != nil {
		return time.Time{}, fmt.Errorf("schema: %s: bad date: %w", name, err)
	}
	return d, nil
}

// Stats is the content of a stats-*.json file: the number of rows saved and
// the rows per APP tag.
type Stats struct {
	Global struct {
		TotalSaved int64 `json:"total-saved"`
	} `json:"global"`
	Apps map[string]int64 `json:"apps"`
}

// ReadStats decodes a stats file. Unknown keys are ignored.
func ReadStats(r io.Reader, name string) (Stats, error) {
	var s Stats
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return Stats{}, fmt.Errorf("schema: %s: %w", name, err)
	}
	if s.Apps == nil {
		s.Apps = map[string]int64{}
	}
	var sum int64
	for app, n := range s.Apps {
		if n < 0 {
			return Stats{}, fmt.Errorf("schema: %s: apps.%s: negative count %d", name, app, n)
		}
		sum += n
	}
	if sum != s.Global.TotalSaved {
		return Stats{}, fmt.Errorf("schema: %s: global.total-saved %d != sum of apps %d", name, s.Global.TotalSaved, sum)
	}
	return s, nil
}

// WriteStats encodes a stats file in the published shape.
func WriteStats(w io.Writer, s Stats) error {
	if s.Apps == nil {
		s.Apps = map[string]int64{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("schema: stats: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
