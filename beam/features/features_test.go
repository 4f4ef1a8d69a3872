package features_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/features"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/beam/internal/beamtest"
	"github.com/telcotraffic/telcotraffic/beam/internal/laketest"
	"github.com/telcotraffic/telcotraffic/beam/parse"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func TestFeaturesEqualDirect(t *testing.T) {
	root, lake := t.TempDir(), t.TempDir()
	start, _ := time.Parse(time.DateOnly, "2022-03-12")
	if _, err := flowgen.Week(root, start, 3, 60, 10, 3); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pp, err := parse.NewPlan(ctx, parse.Config{Input: root, Lake: lake})
	if err != nil {
		t.Fatal(err)
	}
	pipe, s := beam.NewPipelineWithRoot()
	if _, err := parse.Build(s, pp); err != nil {
		t.Fatal(err)
	}
	beamtest.Run(t, pipe)

	cfg := featuredef.FeatureConfig{SNIBuckets: 64, JA3Buckets: 16}
	p, err := features.NewPlan(ctx, features.Config{Lake: lake, FlowsVersion: -1, Features: cfg, UnitRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	pipe, s = beam.NewPipelineWithRoot()
	manifests, err := features.Files(s, p)
	if err != nil {
		t.Fatal(err)
	}
	passert.Count(s, manifests, "manifests", len(p.Units))
	res := deltaio.Commit(s, []deltaio.CommitSpec{p.Spec}, len(p.Units), manifests)
	passert.Count(s, res, "results", 1)
	beamtest.Run(t, pipe)

	var want []tablerow.FlowFeatures
	for _, f := range laketest.Rows[cesnet.Flow](t, lake, "flows") {
		var out tablerow.FlowFeatures
		featuredef.Features(&f, cfg, &out)
		want = append(want, out)
	}
	got := laketest.Rows[tablerow.FlowFeatures](t, lake, features.Table)
	byID := func(fs []tablerow.FlowFeatures) {
		sort.Slice(fs, func(i, j int) bool { return fs[i].ID < fs[j].ID })
	}
	byID(want)
	byID(got)
	if len(want) != 180 {
		t.Fatalf("%d flows, want 180", len(want))
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("flow_features differ from featuredef.Features (-want +got):\n%s", diff)
	}
	for _, f := range got {
		if f.SNIBucket < 1 || f.SNIBucket > 64 || f.JA3Bucket < 1 || f.JA3Bucket > 16 || len(f.PPI) != 120 {
			t.Fatalf("row %d: buckets %d/%d, %d ppi values", f.ID, f.SNIBucket, f.JA3Bucket, len(f.PPI))
		}
	}
	// Partitioned by week.
	tab, _ := deltaio.TableSpec{Lake: lake, Name: features.Table}.Open(ctx)
	snap, _ := tab.Snapshot(ctx)
	weeks := map[string]bool{}
	for _, a := range snap.Files() {
		weeks[a.PartitionValues["week"]] = true
	}
	if diff := cmp.Diff(map[string]bool{"2022-W10": true, "2022-W11": true}, weeks); diff != "" {
		t.Error(diff)
	}

	// Same inputs: nothing to do; other bucket counts: a new run.
	p2, err := features.NewPlan(ctx, features.Config{Lake: lake, FlowsVersion: -1, Features: cfg})
	if err != nil || !p2.Done {
		t.Errorf("same plan again: done=%v err=%v", p2 != nil && p2.Done, err)
	}
	p3, err := features.NewPlan(ctx, features.Config{Lake: lake, FlowsVersion: -1})
	if err != nil || p3.Done {
		t.Errorf("plan with default buckets: done=%v err=%v", p3 != nil && p3.Done, err)
	}
}
