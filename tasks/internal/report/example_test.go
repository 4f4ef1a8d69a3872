package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/report"
)

// The report of a lake whose tables do not exist yet, without MLflow: a
// page whose sections say what is missing.
func Example() {
	ctx := context.Background()
	lake, err := os.MkdirTemp("", "lake")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(lake)

	d, err := report.Build(ctx, report.Config{Lake: lake})
	if err != nil {
		panic(err)
	}
	page, err := report.Render(d)
	if err != nil {
		panic(err)
	}
	out := filepath.Join(lake, "reports", "report.html") // or s3://bucket/reports/report.html
	if err := report.Write(ctx, out, page, storage.Options{}); err != nil {
		panic(err)
	}
	res := d.Result(out, len(page))
	fmt.Println("absent:", res.Absent)
	fmt.Println("traffic_hourly version:", res.Tables[report.HourlyTable])
	fmt.Println(d.Usage.Absent[:40])
	// Output:
	// absent: [traffic forecast classifier usage drift lineage]
	// traffic_hourly version: -1
	// Table app_usage_daily does not exist yet
}
