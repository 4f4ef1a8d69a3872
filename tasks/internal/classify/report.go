package classify

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// WriteText renders the report for people: the headline, then per variant
// the decay curve over the test weeks, the open-set measures, the category
// scores and the weakest and strongest classes of the first test week.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	fmt.Fprintf(bw, "Service classification report (data: %s %s)\n", r.Data.Kind, r.Data.URI)
	fmt.Fprintf(bw, "trained as of %s on weeks %s, validated on %s; test weeks %s\n", orNone(r.AsOf), strings.Join(r.TrainWeeks, ","), strings.Join(r.ValWeeks, ","), strings.Join(r.Weeks, ","))
	fmt.Fprintf(bw, "first test week %s, ensemble:\n", s.TestWeek)
	fmt.Fprintf(bw, "  accuracy             %s\n", fmtPct(float64(s.Accuracy)))
	fmt.Fprintf(bw, "  macro_f1             %s\n", fmtPct(float64(s.MacroF1)))
	fmt.Fprintf(bw, "  macro_recall         %s\n", fmtPct(float64(s.MacroRecall)))
	fmt.Fprintf(bw, "  macro_f1_no_sni      %s\n", fmtPct(float64(s.MacroF1NoSNI)))
	fmt.Fprintf(bw, "  unknown_tpr_at_5fpr  %s (no SNI: %s)\n", fmtPct(float64(s.UnknownTPR)), fmtPct(float64(s.UnknownTPRNoSNI)))
	for _, v := range r.Variants {
		fmt.Fprintf(bw, "\n== %s (%s): %d classes, members %s, stacking %s %v%s ==\n", v.FeatureSet, v.Model, v.Classes,
			strings.Join(v.Members, "+"), v.Stacking.Pool, v.Stacking.Weights, fallbackNote(v.Stacking))
		fmt.Fprintf(bw, "held-out apps (unknown services): %s\n", fmtApps(v.Holdout))
		fmt.Fprintf(bw, "\n%-10s %7s  %-9s %-9s %-9s", "week", "flows", "accuracy", "macro-F1", "m-recall")
		for _, m := range v.Members {
			fmt.Fprintf(bw, " %-12s", m+" F1")
		}
		fmt.Fprintf(bw, " %-9s %-9s %-9s\n", "gain", "unk-TPR", "unk-FPR")
		for _, wk := range v.Weeks {
			e := wk.Ensemble
			fmt.Fprintf(bw, "%-10s %7d  %-9s %-9s %-9s", wk.Week, e.Flows, fmtPct(e.Accuracy), fmtPct(e.MacroF1), fmtPct(e.MacroRecall))
			for _, m := range v.Members {
				fmt.Fprintf(bw, " %-12s", fmtPct(wk.Members[m].MacroF1))
			}
			gain := math.NaN()
			for _, m := range v.Members {
				gain = math.Max(nanTo(gain, math.Inf(-1)), wk.Members[m].MacroF1)
			}
			fmt.Fprintf(bw, " %-9s %-9s %-9s\n", fmt.Sprintf("%+.2f", 100*(e.MacroF1-gain)), fmtPct(float64(wk.OpenSet.TPRAtFPR)), fmtPct(wk.OpenSet.FPR))
		}
		fmt.Fprintf(bw, "(unk-TPR: unknown flows rejected when %.0f%% of known flows are; at the bundle's validation threshold %.3f the first week's TPR/FPR are %s / %s)\n",
			100*v.Weeks[0].OpenSet.FPR, v.RejectThreshold, fmtPct(float64(v.Weeks[0].OpenSet.BundleTPR)), fmtPct(float64(v.Weeks[0].OpenSet.BundleFPR)))
		fmt.Fprintf(bw, "(gain: ensemble macro-F1 minus its best member's, points; reject rule scores flows by %s)\n", rejectScore(v))
		fmt.Fprintf(bw, "ensemble beats every member on macro-F1 in the first test week: %v\n", v.EnsembleBeatsMembers)
		writeOpenSetMethods(bw, v)
		if len(v.TopFeatures) > 0 {
			fmt.Fprintf(bw, "\ntree member's top %d features by total split gain (per category in its %s):\n", len(v.TopFeatures), ImportanceFile)
			for i, f := range v.TopFeatures {
				fmt.Fprintf(bw, "  %2d %-28s %6.2f%%\n", i+1, f.Feature, 100*f.Share)
			}
		}
		fmt.Fprintf(bw, "\ncategories, first test week: accuracy %s, macro-F1 %s\n", fmtPct(v.Category.Accuracy), fmtPct(v.Category.MacroF1))
		writeClassTable(bw, v.Category.PerClass, len(v.Category.PerClass))
		fmt.Fprintf(bw, "\nweakest classes, first test week (by F1; full table in report.json, confusion in %s):\n", v.ConfusionCSV)
		pc := slices.Clone(v.First.PerClass)
		slices.SortStableFunc(pc, func(a, b ClassScore) int { return cmp.Compare(a.F1, b.F1) })
		writeClassTable(bw, pc, 15)
	}
	return bw.Flush()
}

func writeClassTable(w io.Writer, rows []ClassScore, n int) {
	fmt.Fprintf(w, "  %-28s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support")
	for _, c := range rows[:min(n, len(rows))] {
		fmt.Fprintf(w, "  %-28s %9.4f %9.4f %9.4f %8d\n", c.Class, c.Precision, c.Recall, c.F1, c.Support)
	}
}

func nanTo(v, alt float64) float64 {
	if math.IsNaN(v) {
		return alt
	}
	return v
}

// rejectScore names what the variant's reject rule scores flows by.
func rejectScore(v VariantReport) string {
	switch v.RejectMethod {
	case MethodFingerprint:
		return "the handshake fingerprint (how often training flows showed the server's first flight)"
	case MethodHeadFingerprint:
		return "the known-vs-unknown head on the probabilities and the handshake fingerprints"
	}
	if v.OpenSetHead {
		return "the known-vs-unknown head"
	}
	return "the highest ensemble probability"
}
