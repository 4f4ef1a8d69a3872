package tracking

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfusionCSV(t *testing.T) {
	var b bytes.Buffer
	if err := ConfusionCSV(&b, []string{"web", "video, hd"}, [][]int64{{5, 1}, {0, 7}}); err != nil {
		t.Fatal(err)
	}
	want := "true\\predicted,web,\"video, hd\"\nweb,5,1\n\"video, hd\",0,7\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("csv (-want +got):\n%s", diff)
	}
}

func TestConfusionRejectsBadShapes(t *testing.T) {
	tests := []struct {
		name   string
		labels []string
		m      [][]int64
		msg    string
	}{
		{"no classes", nil, nil, "no classes"},
		{"rows", []string{"a", "b"}, [][]int64{{1, 2}}, "1 rows for 2 classes"},
		{"columns", []string{"a", "b"}, [][]int64{{1, 2}, {3}}, "row 1 has 1 columns"},
		{"negative", []string{"a"}, [][]int64{{-1}}, "negative count"},
		{"too many", make([]string, maxConfusionClasses+1), nil, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, write := range []func() error{
				func() error { return ConfusionCSV(&bytes.Buffer{}, tt.labels, tt.m) },
				func() error { return ConfusionPNG(&bytes.Buffer{}, tt.labels, tt.m) },
			} {
				if err := write(); err == nil || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("err = %v, want one mentioning %q", err, tt.msg)
				}
			}
		})
	}
}

// TestConfusionPNG checks the heat map's geometry and colours: a full
// diagonal cell is dark, an empty cell white, a row without support grey,
// and the labels put ink beside the grid.
func TestConfusionPNG(t *testing.T) {
	labels := []string{"web", "video", "messaging", "unknown"}
	m := [][]int64{
		{90, 10, 0, 0},
		{0, 100, 0, 0},
		{25, 25, 50, 0},
		{0, 0, 0, 0}, // no support
	}
	dir := t.TempDir()
	if err := WriteConfusion(dir, labels, m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ConfusionCSVFile)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, ConfusionPNGFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	l := layoutFor(labels)
	if got := img.Bounds().Size(); got != (image.Point{l.Width, l.Height}) {
		t.Fatalf("size %v, want %dx%d", got, l.Width, l.Height)
	}
	if l.Cell != 36 || !l.Labels || !l.Numbers {
		t.Errorf("layout for 4 classes = %+v, want 36 px cells with labels and numbers", l)
	}
	// A pixel near a cell's corner, away from the number and grid lines.
	at := func(i, j int) color.RGBA {
		return color.RGBAModel.Convert(img.At(l.GridX+j*l.Cell+3, l.GridY+i*l.Cell+3)).(color.RGBA)
	}
	tests := []struct {
		name string
		i, j int
		want color.RGBA
	}{
		{"100% cell", 1, 1, heatHigh},
		{"empty cell", 0, 2, heatLow},
		{"50% cell", 2, 2, lerp(heatLow, heatHigh, 0.5)},
		{"row without support", 3, 3, noSupport},
	}
	for _, tt := range tests {
		if got := at(tt.i, tt.j); got != tt.want {
			t.Errorf("%s (%d, %d) = %v, want %v", tt.name, tt.i, tt.j, got, tt.want)
		}
	}
	ink := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == inkColor {
					n++
				}
			}
		}
		return n
	}
	if n := ink(image.Rect(0, l.GridY, l.GridX, l.GridY+l.Cell)); n < 20 {
		t.Errorf("row label of %q: %d ink pixels, want a word", labels[0], n)
	}
	if n := ink(image.Rect(l.GridX, 26, l.GridX+l.Cell, l.GridY)); n < 20 {
		t.Errorf("column label of %q: %d ink pixels, want a word", labels[0], n)
	}
	// The 90 % cell carries its number in the paper colour (dark cell).
	cell := image.Rect(l.GridX, l.GridY, l.GridX+l.Cell, l.GridY+l.Cell)
	paper := 0
	for y := cell.Min.Y + 1; y < cell.Max.Y; y++ {
		for x := cell.Min.X + 1; x < cell.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == paperColor {
				paper++
			}
		}
	}
	if paper < 10 {
		t.Errorf("90%% cell: %d light pixels, want the number drawn", paper)
	}
}

func TestConfusionLayoutScales(t *testing.T) {
	for _, n := range []int{1, 20, 60, 180, 500} {
		labels := make([]string, n)
		for i := range labels {
			labels[i] = fmt.Sprintf("service-with-a-long-name-%03d", i)
		}
		l := layoutFor(labels)
		if l.Cell < 8 || l.Cell > 36 || l.Width > 5000 || l.Height > 5000 {
			t.Errorf("%d classes: layout %+v out of bounds", n, l)
		}
		if !l.Labels {
			t.Errorf("%d classes: labels dropped with %d px cells", n, l.Cell)
		}
	}
}

func TestGlyphs(t *testing.T) {
	for r, g := range glyphs {
		for i, row := range g {
			if len(row) != glyphW || strings.Trim(row, ".#") != "" {
				t.Errorf("glyph %q row %d = %q, want %d of . and #", r, i, row, glyphW)
			}
		}
	}
	for _, r := range "abcdefghijklmnopqrstuvwxyz0123456789-_./:%()" {
		if _, ok := glyphs[r]; !ok && glyph(r) == glyphs['?'] {
			t.Errorf("no glyph for %q", r)
		}
	}
	if got := fitText("  messaging-whatsapp  ", 10); got != "messaging~" {
		t.Errorf("fitText = %q", got)
	}
	if got := textWidth("abc"); got != 17 {
		t.Errorf("textWidth(abc) = %d, want 17", got)
	}
}
