package tracking

import "testing"

// FuzzReportEvaluation: any bytes give an evaluation or an error, never a
// panic; a window and scores survive.
func FuzzReportEvaluation(f *testing.F) {
	f.Add([]byte(`{"summary":{"test_week":"2022-W05","macro_f1":0.9,"accuracy":null},"variants":[{"feature_set":"sni","first_week":{"per_class":[{"class":"a","recall":0.5,"support":3},{"class":"b","recall":0,"support":0}]}}]}`), "sni")
	f.Add([]byte(`{}`), "no-sni")
	f.Add([]byte(`[`), "")
	f.Fuzz(func(t *testing.T, b []byte, set string) {
		ev, err := ReportEvaluation(b, set)
		if err != nil {
			return
		}
		if ev.Scores == nil || ev.ClassRecall == nil {
			t.Fatalf("nil maps in %+v", ev)
		}
	})
}
