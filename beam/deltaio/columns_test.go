package deltaio_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
)

// TestReadColumns: the columnar reader returns the same values as the row
// reader (ReadFile) for every kind of column: int64, int32, double, bool,
// string, timestamp, lists (empty ones too) and partition columns, over
// the files of several partitions.
func TestReadColumns(t *testing.T) {
	ctx := context.Background()
	_, tab := newTable(t)
	in := flowgen.Day(day("2022-03-07"), 3000, 6, 1)
	for i := range in {
		if i%3 == 0 {
			in[i].PPIPush = nil // a day file with three PPI lists
		}
		if i%7 == 0 {
			in[i].TLSSNI = ""
		}
	}
	adds := writeDay(t, tab, in)
	cols := []string{"id", "ppi_len", "duration", "flag_syn", "tls_sni", "time_first", "ppi_push", "phist_dst_ipt", "app", "week", "day"}
	type row struct {
		ID        int64
		PPILen    int32
		Duration  float64
		SYN       bool
		SNI       string
		TimeFirst time.Time
		Push      []int32
		PHist     []int32
		App, Week string
		Day       string
	}
	var want, got []row
	n := 0
	for _, a := range adds {
		for r, err := range deltaio.ReadFile[cesnet.Flow](ctx, tab, []string{"week", "app"}, a) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, row{r.ID, r.PPILen, r.Duration, r.FlagSYN, r.TLSSNI, r.TimeFirst.UTC(), r.PPIPush, r.PHistDstIPT, r.App, r.Week, r.Day})
		}
		err := deltaio.ReadColumns(ctx, tab, []string{"week", "app"}, a, cols, func(b *deltaio.Batch) error {
			n++
			c := b.Cols
			for i := 0; i < b.Rows; i++ {
				list := func(k int) []int32 { return c[k].Int32[c[k].Off[i]:c[k].Off[i+1]] }
				got = append(got, row{c[0].Int64[i], c[1].Int32[i], c[2].Float64[i], c[3].Bool[i], c[4].Str[i],
					time.UnixMicro(c[5].Int64[i]).UTC(), list(6), list(7), c[8].Str[i], c[9].Str[i], c[10].Str[i]})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(want) != len(in) || len(got) != len(want) {
		t.Fatalf("%d rows by columns, %d by rows, %d written", len(got), len(want), len(in))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.ID != g.ID || w.PPILen != g.PPILen || w.Duration != g.Duration || w.SYN != g.SYN || w.SNI != g.SNI ||
			!w.TimeFirst.Equal(g.TimeFirst) || !slices.Equal(w.Push, g.Push) || !slices.Equal(w.PHist, g.PHist) ||
			w.App != g.App || w.Week != g.Week || w.Day != g.Day {
			t.Fatalf("row %d: by columns %+v, by rows %+v", i, g, w)
		}
	}
	err := deltaio.ReadColumns(ctx, tab, nil, adds[0], []string{"no_such_column"}, func(*deltaio.Batch) error { return nil })
	if err == nil {
		t.Error("reading a missing column did not fail")
	}
}
