package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"strings"
)

// EChartsVersion is the vendored Apache ECharts release (vendor/echarts,
// fetched by its fetch.sh from the npm registry).
const EChartsVersion = "6.1.0"

var (
	//go:embed vendor/echarts/echarts.min.js
	echartsJS string
	//go:embed page/page.html
	pageHTML string
	//go:embed page/page.css
	pageCSS string
	//go:embed page/page.js
	pageJS string
)

// DataJSON is the data as the page embeds it: JSON with <, > and &
// escaped, so it cannot end its script element.
func (d *Data) DataJSON() ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("report: data: %w", err)
	}
	return b, nil
}

// Render returns the self-contained page: styles, ECharts, the data and
// the drawing script inline.
func Render(d *Data) ([]byte, error) {
	data, err := d.DataJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(pageHTML) + len(echartsJS) + len(data) + len(pageJS) + len(pageCSS))
	r := strings.NewReplacer(
		"{{TITLE}}", html.EscapeString(d.Title),
		"{{CSS}}", pageCSS,
		"{{ECHARTS_VERSION}}", EChartsVersion,
		"{{ECHARTS}}", echartsJS,
		"{{JS}}", pageJS,
		"{{DATA}}", string(data),
	)
	if _, err := r.WriteString(&out, pageHTML); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
