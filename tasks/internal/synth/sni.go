package synth

import (
	"sort"
	"strings"
)

// Rule labels a TLS SNI with a service, the way the dataset's labels were
// made: by domain rules. A rule with Digits matches Prefix + one or more
// decimal digits + Suffix (numbered CDN and front-end hosts); without, the
// host must equal Prefix exactly.
type Rule struct {
	Prefix string `json:"prefix"`
	Digits bool   `json:"digits,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	App    string `json:"app"`
}

// Match reports whether the rule matches a host name.
func (r Rule) Match(host string) bool {
	if !r.Digits {
		return host == r.Prefix
	}
	if len(host) <= len(r.Prefix)+len(r.Suffix) || !strings.HasPrefix(host, r.Prefix) || !strings.HasSuffix(host, r.Suffix) {
		return false
	}
	for _, c := range []byte(host[len(r.Prefix) : len(host)-len(r.Suffix)]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Rules returns the SNI rules of every generated service, sorted by app.
// Services of one provider share registered domains (googleapis.com,
// fbcdn.net, microsoft.com, …), so the registered domain alone does not
// identify a service, while the full rules do.
func Rules() []Rule {
	return append([]Rule(nil), getWorld().rules...)
}

// LabelBySNI returns the service an SNI belongs to by the domain rules, and
// false when no rule matches.
func LabelBySNI(sni string) (string, bool) {
	return getWorld().label(sni)
}

func (w *world) buildRules() {
	w.exact = map[string]string{}
	w.patterns = map[string][]Rule{}
	rows := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(appTable), "\n") {
		f := strings.Split(line, "|")
		rows[f[0]] = f[6]
	}
	for _, a := range w.apps {
		if !a.active {
			continue
		}
		for _, h := range strings.Fields(rows[a.name]) {
			pre, rest, ok := strings.Cut(h, "{")
			r := Rule{Prefix: h, App: a.name}
			if ok {
				_, suf, _ := strings.Cut(rest, "}")
				r = Rule{Prefix: pre, Digits: true, Suffix: suf, App: a.name}
				w.patterns[registered(suf)] = append(w.patterns[registered(suf)], r)
			} else {
				if prev, dup := w.exact[h]; dup {
					panic("synth: host " + h + " in " + prev + " and " + a.name)
				}
				w.exact[h] = a.name
			}
			w.rules = append(w.rules, r)
		}
	}
	sort.SliceStable(w.rules, func(i, j int) bool { return w.rules[i].App < w.rules[j].App })
	// Every host an app can send must label back to that app.
	for _, a := range w.apps {
		if !a.active {
			continue
		}
		for _, h := range a.hosts {
			if got, _ := w.label(h); got != a.name {
				panic("synth: host " + h + " of " + a.name + " labels as " + got)
			}
		}
	}
}

func (w *world) label(sni string) (string, bool) {
	if app, ok := w.exact[sni]; ok {
		return app, true
	}
	for _, r := range w.patterns[registered(sni)] {
		if r.Match(sni) {
			return r.App, true
		}
	}
	return "", false
}
