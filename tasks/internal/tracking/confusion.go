package tracking

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Confusion matrix artifact names written by WriteConfusion.
const (
	ConfusionCSVFile = "confusion_matrix.csv"
	ConfusionPNGFile = "confusion_matrix.png"
)

// maxConfusionClasses bounds the picture (8 px per class at least).
const maxConfusionClasses = 500

// WriteConfusion writes the confusion matrix m (m[t][p] counts rows of true
// class labels[t] predicted as labels[p]) into dir as confusion_matrix.csv
// and a heat map confusion_matrix.png, ready for [Run.LogArtifacts].
func WriteConfusion(dir string, labels []string, m [][]int64) error {
	if err := checkConfusion(labels, m); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tracking: confusion: %w", err)
	}
	for name, write := range map[string]func(io.Writer, []string, [][]int64) error{
		ConfusionCSVFile: ConfusionCSV,
		ConfusionPNGFile: ConfusionPNG,
	} {
		if err := writeFile(filepath.Join(dir, name), func(w io.Writer) error { return write(w, labels, m) }); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("tracking: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("tracking: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tracking: %s: %w", path, err)
	}
	return nil
}

func checkConfusion(labels []string, m [][]int64) error {
	n := len(labels)
	if n == 0 {
		return errors.New("tracking: confusion: no classes")
	}
	if n > maxConfusionClasses {
		return fmt.Errorf("tracking: confusion: %d classes, at most %d", n, maxConfusionClasses)
	}
	if len(m) != n {
		return fmt.Errorf("tracking: confusion: %d rows for %d classes", len(m), n)
	}
	for i, row := range m {
		if len(row) != n {
			return fmt.Errorf("tracking: confusion: row %d has %d columns for %d classes", i, len(row), n)
		}
		for j, v := range row {
			if v < 0 {
				return fmt.Errorf("tracking: confusion: negative count at (%d, %d)", i, j)
			}
		}
	}
	return nil
}

// ConfusionCSV writes the matrix as CSV: a header "true\predicted" and the
// predicted labels, then one row per true label with its counts.
func ConfusionCSV(w io.Writer, labels []string, m [][]int64) error {
	if err := checkConfusion(labels, m); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{`true\predicted`}, labels...)); err != nil {
		return fmt.Errorf("tracking: confusion csv: %w", err)
	}
	rec := make([]string, len(labels)+1)
	for i, row := range m {
		rec[0] = labels[i]
		for j, v := range row {
			rec[j+1] = strconv.FormatInt(v, 10)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("tracking: confusion csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("tracking: confusion csv: %w", err)
	}
	return nil
}

// Heat map colours: white for 0 % of a row to dark blue for 100 %.
var (
	heatLow    = color.RGBA{255, 255, 255, 255}
	heatHigh   = color.RGBA{8, 48, 107, 255}
	noSupport  = color.RGBA{236, 236, 236, 255}
	gridColor  = color.RGBA{210, 210, 210, 255}
	inkColor   = color.RGBA{40, 40, 40, 255}
	paperColor = color.RGBA{255, 255, 255, 255}
)

// ConfusionTitle is drawn at the top of the picture.
const ConfusionTitle = "CONFUSION MATRIX - ROWS: TRUE CLASS, COLUMNS: PREDICTED, SHADE AND NUMBER: % OF ROW"

// heatLayout is the geometry of the heat map picture.
type heatLayout struct {
	Cell         int // cell side in pixels
	GridX, GridY int // top-left corner of the cells
	Width        int
	Height       int
	Labels       bool // class names drawn (cells of 8 px and more)
	Numbers      bool // row percentages drawn in the cells
}

const maxLabelChars = 24

// layoutFor returns the picture geometry for labels.
func layoutFor(labels []string) heatLayout {
	n := len(labels)
	l := heatLayout{Cell: min(max(720/n, 8), 36)}
	l.Labels = l.Cell >= glyphH+1
	l.Numbers = l.Cell >= 20
	labelW := 0
	if l.Labels {
		for _, s := range labels {
			labelW = max(labelW, textWidth(fitText(s, maxLabelChars)))
		}
	}
	const margin, titleH = 10, 26
	l.GridX = margin + labelW + 6
	l.GridY = titleH + labelW + 6
	l.Width = max(l.GridX+n*l.Cell+margin, textWidth(ConfusionTitle)+2*margin)
	l.Height = l.GridY + n*l.Cell + margin
	return l
}

// ConfusionPNG draws the matrix as a heat map: one cell per (true,
// predicted) pair shaded by its share of the true class's row, with class
// names along both axes and the percentages in the cells when they fit.
// Rows without support are grey.
func ConfusionPNG(w io.Writer, labels []string, m [][]int64) error {
	if err := checkConfusion(labels, m); err != nil {
		return err
	}
	l := layoutFor(labels)
	img := image.NewRGBA(image.Rect(0, 0, l.Width, l.Height))
	fill(img, img.Rect, paperColor)
	drawText(img, 10, 10, ConfusionTitle, inkColor, false)

	c := l.Cell
	for i, row := range m {
		var total int64
		for _, v := range row {
			total += v
		}
		for j, v := range row {
			cell := image.Rect(l.GridX+j*c, l.GridY+i*c, l.GridX+(j+1)*c, l.GridY+(i+1)*c)
			if total == 0 {
				fill(img, cell, noSupport)
				continue
			}
			share := float64(v) / float64(total)
			fill(img, cell, lerp(heatLow, heatHigh, share))
			if l.Numbers && v > 0 {
				s := strconv.Itoa(int(share*100 + 0.5))
				ink := color.Color(inkColor)
				if share > 0.5 {
					ink = paperColor
				}
				drawText(img, cell.Min.X+(c-textWidth(s))/2, cell.Min.Y+(c-glyphH)/2, s, ink, false)
			}
		}
	}
	if c >= 12 {
		for k := 0; k <= len(labels); k++ {
			fill(img, image.Rect(l.GridX+k*c, l.GridY, l.GridX+k*c+1, l.GridY+len(labels)*c), gridColor)
			fill(img, image.Rect(l.GridX, l.GridY+k*c, l.GridX+len(labels)*c, l.GridY+k*c+1), gridColor)
		}
	}
	if l.Labels {
		for i, s := range labels {
			s = fitText(s, maxLabelChars)
			mid := (c - glyphH) / 2
			drawText(img, l.GridX-6-textWidth(s), l.GridY+i*c+mid, s, inkColor, false)
			drawText(img, l.GridX+i*c+mid, l.GridY-6, s, inkColor, true)
		}
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("tracking: confusion png: %w", err)
	}
	return nil
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func lerp(a, b color.RGBA, t float64) color.RGBA {
	t = min(max(t, 0), 1)
	mix := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}
