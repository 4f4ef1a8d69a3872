package tracking

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
)

// Promotion errors, matched with errors.Is.
var (
	// ErrNoChallenger: the model has no challenger alias, or it names the
	// champion. Nothing to do.
	ErrNoChallenger = errors.New("tracking: no challenger to promote")
	// ErrAlreadyDecided: the challenger was compared with the current
	// champion on this metric before. Nothing to do.
	ErrAlreadyDecided = errors.New("tracking: challenger already lost against this champion")
	// ErrNotEvaluated: the challenger has no evaluation window (a forecaster
	// fitted before there was history for a backtest): there is nothing to
	// compare it on. Nothing to do; its successors are compared.
	ErrNotEvaluated = errors.New("tracking: challenger not evaluated")
	// ErrWindowMismatch: challenger and champion were scored on different
	// time windows, so their scores cannot be compared.
	ErrWindowMismatch = errors.New("tracking: challenger and champion were scored on different windows")
	// ErrStaleWindow is returned by a PromoteOptions.Rescore that cannot
	// score the champion on the challenger's window because the champion
	// learned from it (an older challenger, e.g. a re-run of an old week).
	// Promote keeps the champion and records why.
	ErrStaleWindow = errors.New("tracking: the champion learned from the challenger's window")
)

// Tags recording a promotion decision, on the challenger's version and run.
const (
	TagPromotionPrefix = "telcotraffic.promotion."
	tagDecision        = TagPromotionPrefix + "decision"
	tagDecisionMetric  = TagPromotionPrefix + "metric"
	tagDecisionVs      = TagPromotionPrefix + "champion_version"
	tagReplacedBy      = TagPromotionPrefix + "replaced_by"
)

// DefaultRecallFloor is the per-class recall under which a class counts as
// collapsed.
const DefaultRecallFloor = 0.05

// PromoteOptions configure Promote.
type PromoteOptions struct {
	Name   string // registered model
	Metric string // macro_f1 for classifiers, mase for forecasters
	// HigherIsBetter says which way Metric improves; nil infers it from the
	// name (see [HigherIsBetter]).
	HigherIsBetter *bool
	// MinDelta is the margin by which the challenger must beat the champion
	// (default 0: any strict improvement).
	MinDelta float64
	// RecallFloor: a class whose challenger recall is below it collapsed,
	// unless the champion's recall on the same window was below it too.
	// Negative disables the check; 0 means DefaultRecallFloor. Use a tiny
	// positive value to flag only classes never predicted.
	RecallFloor float64
	// LatencyBudget, if > 0, is the highest predict_us_per_row the
	// challenger may have.
	LatencyBudget float64
	Now           func() time.Time // default time.Now
	// Rescore, if set, is called when the champion was evaluated on
	// another window than the challenger: it scores the champion version
	// on the challenger's window and returns the run holding that
	// evaluation (logged with LogEvaluation). Promote attaches the run to
	// the champion (AttachEvaluation) and compares on it. Nil: a window
	// mismatch is ErrWindowMismatch.
	Rescore func(ctx context.Context, champion *mlflowclient.ModelVersion, challenger *EvaluationOf) (runID string, err error)
}

// Outcome is what Promote decided.
type Outcome string

// Outcomes.
const (
	FirstChampion Outcome = "first_champion" // no champion existed: the challenger became champion
	Promoted      Outcome = "promoted"       // the challenger won and became champion
	KeptChampion  Outcome = "kept_champion"  // the challenger did not beat the champion
	Rejected      Outcome = "rejected"       // the challenger failed a guard rail
	NothingToDo   Outcome = "nothing_to_do"  // no challenger, or it lost against this champion before
)

// Decision is the result of Promote: what was decided and why.
type Decision struct {
	Name              string   `json:"name"`
	Outcome           Outcome  `json:"decision"`
	Promoted          bool     `json:"promoted"`
	Metric            string   `json:"metric"`
	HigherIsBetter    bool     `json:"higher_is_better"`
	Window            string   `json:"window"`
	ChallengerVersion string   `json:"challenger_version"`
	ChallengerScore   float64  `json:"challenger_score"`
	PreviousChampion  string   `json:"previous_champion_version,omitempty"`
	ChampionScore     *float64 `json:"champion_score,omitempty"` // of the previous champion
	ChampionVersion   string   `json:"champion_version"`         // after the decision
	// RescoredRun is the run in which the champion was scored again on
	// the challenger's window for this decision (see PromoteOptions.Rescore).
	RescoredRun string `json:"champion_rescored_run,omitempty"`
	// Collapsed lists classes that failed the recall floor.
	Collapsed []string `json:"collapsed_classes,omitempty"`
	Reasons   []string `json:"reasons"`
}

// String is the one-line account printed for people.
func (d *Decision) String() string {
	var b strings.Builder
	if d.Outcome == NothingToDo {
		champ := "none"
		if d.ChampionVersion != "" {
			champ = "v" + d.ChampionVersion
		}
		fmt.Fprintf(&b, "%s: nothing to do (%s); champion is %s", d.Name, strings.Join(d.Reasons, "; "), champ)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %s on %s, window %s: challenger v%s %s=%s", d.Name, d.Outcome, d.Metric, d.Window,
		d.ChallengerVersion, d.Metric, formatScore(d.ChallengerScore))
	switch {
	case d.ChampionScore != nil:
		fmt.Fprintf(&b, " vs champion v%s %s=%s", d.PreviousChampion, d.Metric, formatScore(*d.ChampionScore))
	case d.PreviousChampion != "":
		fmt.Fprintf(&b, " vs champion v%s (not scored on this window)", d.PreviousChampion)
	default:
		b.WriteString(" (no champion before)")
	}
	if d.RescoredRun != "" {
		fmt.Fprintf(&b, " (champion re-scored on %s in run %s)", d.Window, d.RescoredRun)
	}
	fmt.Fprintf(&b, "; champion is now v%s", d.ChampionVersion)
	if len(d.Reasons) > 0 {
		b.WriteString(" — " + strings.Join(d.Reasons, "; "))
	}
	return b.String()
}

// HigherIsBetter infers a metric's direction from its name: scores such as
// macro_f1, accuracy, recall, AUC or peak_capture improve upwards; errors,
// losses, MASE and latency downwards. ok is false for names it cannot tell.
func HigherIsBetter(metric string) (higher, ok bool) {
	m := strings.ToLower(metric)
	for _, s := range []string{"mase", "mae", "rmse", "mse", "mape", "smape", "loss", "error", "latency", "_us_per_", "_ms_per_", "pinball"} {
		if strings.Contains(m, s) {
			return false, true
		}
	}
	for _, s := range []string{"f1", "accuracy", "recall", "precision", "auc", "tpr", "capture", "r2"} {
		if strings.Contains(m, s) {
			return true, true
		}
	}
	return false, false
}

// Promote compares the challenger of a registered model with its champion
// on the metric and moves the champion alias to the challenger when it wins
// (by more than MinDelta) and passes the guard rails. Without a champion the
// challenger becomes champion (if it passes the latency budget). Both scores
// must come from the same evaluation window, else Promote refuses with
// ErrWindowMismatch.
//
// The decision is recorded as telcotraffic.promotion.* tags on the
// challenger's version and its run. A promoted challenger loses the
// challenger alias; a losing one keeps it, and a repeated call returns
// ErrAlreadyDecided until the champion changes. With ErrNoChallenger and
// ErrAlreadyDecided the Decision (outcome nothing_to_do) names the current
// champion.
func Promote(ctx context.Context, c *mlflowclient.Client, o PromoteOptions) (*Decision, error) {
	if o.Name == "" || o.Metric == "" {
		return nil, errors.New("tracking: promote: model name and metric are required")
	}
	higher := false
	if o.HigherIsBetter != nil {
		higher = *o.HigherIsBetter
	} else {
		var ok bool
		if higher, ok = HigherIsBetter(o.Metric); !ok {
			return nil, fmt.Errorf("tracking: promote: cannot tell whether %s improves upwards or downwards; say so explicitly", o.Metric)
		}
	}
	if o.RecallFloor == 0 {
		o.RecallFloor = DefaultRecallFloor
	}
	if o.Now == nil {
		o.Now = time.Now
	}

	champ, err := c.RegisteredModels.GetVersionByAlias(ctx, o.Name, AliasChampion)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		champ, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tracking: promote: %w", err)
	}
	champVersion := "none"
	idle := &Decision{Name: o.Name, Outcome: NothingToDo, Metric: o.Metric, HigherIsBetter: higher}
	if champ != nil {
		champVersion = champ.Version
		idle.ChampionVersion = champ.Version
	}
	nothing := func(err error) (*Decision, error) {
		idle.Reasons = []string{err.Error()}
		return idle, err
	}
	chal, err := c.RegisteredModels.GetVersionByAlias(ctx, o.Name, AliasChallenger)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		return nothing(fmt.Errorf("%w: model %s has no %s alias", ErrNoChallenger, o.Name, AliasChallenger))
	}
	if err != nil {
		return nil, fmt.Errorf("tracking: promote: %w", err)
	}
	idle.ChallengerVersion = chal.Version
	if champ != nil && champ.Version == chal.Version {
		return nothing(fmt.Errorf("%w: %s version %s is already champion", ErrNoChallenger, o.Name, chal.Version))
	}
	// A promotion recorded but not carried out (the aliases did not move)
	// is decided again.
	if d, _ := chal.Tag(tagDecision); d == string(KeptChampion) || d == string(Rejected) {
		if vs, _ := chal.Tag(tagDecisionVs); vs == champVersion {
			if m, _ := chal.Tag(tagDecisionMetric); m == o.Metric {
				return nothing(fmt.Errorf("%w: %s version %s was %s against champion %s", ErrAlreadyDecided, o.Name, chal.Version, d, champVersion))
			}
		}
	}

	chalEval, err := LoadEvaluation(ctx, c, chal)
	if err != nil {
		return nil, err
	}
	if chalEval.Window == "" {
		return nothing(fmt.Errorf("%w: %s version %s has no evaluation window (tag %s): nothing to compare it on", ErrNotEvaluated, o.Name, chal.Version, TagEvalWindow))
	}
	var champEval *EvaluationOf
	if champ != nil {
		if champEval, err = LoadEvaluation(ctx, c, champ); err != nil {
			return nil, err
		}
	}
	rescored := ""
	if champEval != nil && chalEval.Window != "" && champEval.Window != chalEval.Window && o.Rescore != nil {
		if rescored, err = o.Rescore(ctx, champ, chalEval); errors.Is(err, ErrStaleWindow) {
			d := &Decision{Name: o.Name, Outcome: KeptChampion, Metric: o.Metric, HigherIsBetter: higher, Window: chalEval.Window,
				ChallengerVersion: chal.Version, ChallengerScore: chalEval.Scores[o.Metric], PreviousChampion: champ.Version,
				ChampionVersion: champ.Version, Reasons: []string{fmt.Sprintf("not comparable: %v", err)}}
			if err := apply(ctx, c, o, d, chal, champ); err != nil {
				return d, err
			}
			return d, nil
		}
		if err != nil {
			return nil, fmt.Errorf("tracking: promote: score champion version %s on %s: %w", champ.Version, chalEval.Window, err)
		}
		if err := AttachEvaluation(ctx, c, o.Name, champ.Version, rescored); err != nil {
			return nil, err
		}
		if champ, err = c.ModelVersions.Get(ctx, o.Name, champ.Version); err != nil {
			return nil, fmt.Errorf("tracking: promote: %w", err)
		}
		if champEval, err = LoadEvaluation(ctx, c, champ); err != nil {
			return nil, err
		}
	}
	d, err := decide(o, higher, chalEval, champEval)
	if err != nil {
		return nil, err
	}
	d.RescoredRun = rescored
	if err := apply(ctx, c, o, d, chal, champ); err != nil {
		return d, err
	}
	return d, nil
}

// decide compares the evaluations. champ is nil when there is no champion.
func decide(o PromoteOptions, higher bool, chal, champ *EvaluationOf) (*Decision, error) {
	d := &Decision{Name: o.Name, Metric: o.Metric, HigherIsBetter: higher, Window: chal.Window,
		ChallengerVersion: chal.Version.Version}
	if chal.Window == "" {
		return nil, fmt.Errorf("tracking: promote: challenger version %s has no evaluation window (tag %s); evaluate it first", chal.Version.Version, TagEvalWindow)
	}
	var ok bool
	if d.ChallengerScore, ok = chal.Scores[o.Metric]; !ok || math.IsNaN(d.ChallengerScore) {
		return nil, fmt.Errorf("tracking: promote: challenger version %s has no %s score (run %s)", chal.Version.Version, o.Metric, chal.RunID)
	}
	if champ != nil {
		d.PreviousChampion = champ.Version.Version
		if champ.Window != chal.Window {
			return nil, fmt.Errorf("%w: champion version %s on %q, challenger version %s on %q; score the champion on %q and attach that run to it (tracking.AttachEvaluation)",
				ErrWindowMismatch, champ.Version.Version, champ.Window, chal.Version.Version, chal.Window, chal.Window)
		}
		if champ.Kind != "" && chal.Kind != "" && champ.Kind != chal.Kind {
			return nil, fmt.Errorf("tracking: promote: champion is a %s, challenger a %s", champ.Kind, chal.Kind)
		}
		s, ok := champ.Scores[o.Metric]
		if !ok || math.IsNaN(s) {
			return nil, fmt.Errorf("tracking: promote: champion version %s has no %s score (run %s)", champ.Version.Version, o.Metric, champ.RunID)
		}
		d.ChampionScore = &s
	}

	// Guard rails.
	var failed []string
	if o.LatencyBudget > 0 {
		lat, ok := chal.Scores[MetricLatency]
		switch {
		case !ok:
			failed = append(failed, fmt.Sprintf("no %s measured for the latency budget %g", MetricLatency, o.LatencyBudget))
		case lat > o.LatencyBudget:
			failed = append(failed, fmt.Sprintf("%s %s over the budget %g", MetricLatency, formatScore(lat), o.LatencyBudget))
		}
	}
	if champ != nil && o.RecallFloor > 0 {
		for _, class := range slices.Sorted(maps.Keys(chal.ClassRecall)) {
			r := chal.ClassRecall[class]
			if math.IsNaN(r) || r >= o.RecallFloor {
				continue
			}
			if cr, ok := champ.ClassRecall[class]; ok && (cr < o.RecallFloor || math.IsNaN(cr)) {
				continue // it was weak before; not a collapse
			}
			d.Collapsed = append(d.Collapsed, class)
		}
		if len(d.Collapsed) > 0 {
			failed = append(failed, fmt.Sprintf("%d classes collapsed below recall %g: %s", len(d.Collapsed), o.RecallFloor, shortList(d.Collapsed, 10)))
		}
	}

	switch {
	case len(failed) > 0:
		d.Outcome, d.Reasons = Rejected, failed
	case champ == nil:
		d.Outcome, d.Promoted = FirstChampion, true
		d.Reasons = []string{"no champion yet"}
	default:
		delta := d.ChallengerScore - *d.ChampionScore
		if !higher {
			delta = -delta
		}
		if delta > o.MinDelta {
			d.Outcome, d.Promoted = Promoted, true
			d.Reasons = []string{fmt.Sprintf("better by %s", formatScore(delta))}
		} else {
			d.Outcome = KeptChampion
			d.Reasons = []string{fmt.Sprintf("not better by more than %g (difference %s)", o.MinDelta, formatScore(delta))}
		}
	}
	d.ChampionVersion = d.PreviousChampion
	if d.Promoted {
		d.ChampionVersion = d.ChallengerVersion
	}
	return d, nil
}

// apply moves the aliases and records the decision.
func apply(ctx context.Context, c *mlflowclient.Client, o PromoteOptions, d *Decision, chal, champ *mlflowclient.ModelVersion) error {
	vs := "none"
	if champ != nil {
		vs = champ.Version
	}
	tags := map[string]string{
		tagDecision:                             string(d.Outcome),
		tagDecisionMetric:                       d.Metric,
		tagDecisionVs:                           vs,
		TagPromotionPrefix + "window":           d.Window,
		TagPromotionPrefix + "challenger_score": formatScore(d.ChallengerScore),
		TagPromotionPrefix + "reason":           strings.Join(d.Reasons, "; "),
		TagPromotionPrefix + "decided_at":       o.Now().UTC().Format(time.RFC3339),
	}
	if d.ChampionScore != nil {
		tags[TagPromotionPrefix+"champion_score"] = formatScore(*d.ChampionScore)
	}
	if d.RescoredRun != "" {
		tags[TagPromotionPrefix+"champion_rescored_run"] = d.RescoredRun
	}
	for _, t := range sortedTags(tags) {
		if err := c.ModelVersions.SetTag(ctx, d.Name, chal.Version, t.Key, t.Value); err != nil {
			return fmt.Errorf("tracking: promote: record decision: %w", err)
		}
	}
	if chal.RunID != "" {
		b := mlflowclient.Batch{Tags: sortedTags(tags)}
		if err := c.Runs.LogBatch(ctx, chal.RunID, b); err != nil {
			return fmt.Errorf("tracking: promote: record decision on run %s: %w", chal.RunID, err)
		}
	}
	// Aliases last: a failure before leaves the decision to be taken again.
	if d.Promoted {
		if err := c.RegisteredModels.SetAlias(ctx, d.Name, AliasChampion, d.ChallengerVersion); err != nil {
			return fmt.Errorf("tracking: promote: set %s: %w", AliasChampion, err)
		}
		if err := c.RegisteredModels.DeleteAlias(ctx, d.Name, AliasChallenger); err != nil {
			return fmt.Errorf("tracking: promote: drop %s: %w", AliasChallenger, err)
		}
		if champ != nil {
			if err := c.ModelVersions.SetTag(ctx, d.Name, champ.Version, tagReplacedBy, d.ChallengerVersion); err != nil {
				return fmt.Errorf("tracking: promote: %w", err)
			}
		}
	}
	return nil
}

func shortList(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(", … (%d more)", len(s)-n)
}
