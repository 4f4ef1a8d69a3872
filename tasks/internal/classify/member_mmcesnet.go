package classify

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// MMConfig sets the mm-CESNET member: CESNET's multimodal layout (a PPI conv
// branch beside a flow-statistics MLP branch, joined before the softmax; see
// seqnet.MM) over the net view, narrowed as the PyTorch peer of `make
// bench-seqnet` is. Its budget is bounded as the other nets': at most MaxRows
// training rows and MaxValRows validation rows scored after each epoch.
type MMConfig struct {
	Net        seqnet.MMConfig
	Train      seqnet.TrainConfig // OnEpoch and FlowNames are set by Fit
	MaxRows    int                // default 30000
	MaxValRows int                // default 10000
}

func (c MMConfig) withDefaults() MMConfig {
	// The peer's (and CESNET's one-cycle) schedule: a cosine peaking at
	// 3e-3; batch norm keeps it stable.
	c.Train, c.MaxRows, c.MaxValRows = netBudget(c.Train, c.MaxRows, c.MaxValRows, 3e-3)
	return c
}

// MMMember is the mm-CESNET member over the net view.
type MMMember struct {
	Config MMConfig
	netMember[*seqnet.MM]
}

// Kind implements Member.
func (m *MMMember) Kind() string { return "mmcesnet" }

// Fit implements Member.
func (m *MMMember) Fit(ctx context.Context, train, val *Inputs, progress io.Writer) error {
	c := m.Config.withDefaults()
	tc := c.Train
	tc.FlowNames = train.t.NetNames()
	return m.fit(ctx, m.Kind(), tc, c.MaxRows, c.MaxValRows, train, val, progress,
		func(ctx context.Context, tc seqnet.TrainConfig, classes []string, tr, vd seqnet.Dataset) (*seqnet.MM, error) {
			return seqnet.TrainMM(ctx, c.Net, tc, classes, tr, vd)
		})
}

func loadMM(dir string, t *Transforms) (Member, error) {
	model, err := seqnet.LoadMM(dir)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if !slices.Equal(model.Classes(), t.Classes) || model.FlowDim() != t.NetDim() {
		return nil, fmt.Errorf("classify: mmcesnet model in %s: %d classes, flow dim %d; transforms have %d classes, flow dim %d",
			dir, len(model.Classes()), model.FlowDim(), len(t.Classes), t.NetDim())
	}
	return &MMMember{netMember: netMember[*seqnet.MM]{kind: "mmcesnet", m: model}}, nil
}

// Close implements Member.
func (m *MMMember) Close() error { return nil }
