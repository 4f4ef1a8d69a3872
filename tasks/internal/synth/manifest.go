package synth

import (
	"sort"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
)

// Manifest is the ground truth of a generated dataset (manifest.json):
// the run's settings, which apps exist, and the scripted changes that drift
// detection must find.
type Manifest struct {
	Generator   string   `json:"generator"`
	Seed        int64    `json:"seed"`
	Start       string   `json:"start"`
	Days        int      `json:"days"`
	FlowsPerDay int      `json:"flows_per_day"`
	Compress    string   `json:"compress"`
	ActiveApps  int      `json:"active_apps"`
	AbsentApps  []string `json:"absent_apps"`
	MissingDays []string `json:"missing_days"`
	Holidays    []string `json:"holidays"`
	Events      []Event  `json:"events"`
}

// Event is one scripted change.
type Event struct {
	// Kind is exporter_update, peering_change, new_service,
	// behaviour_change or share_decline.
	Kind string `json:"kind"`
	App  string `json:"app,omitempty"`
	// From is the first day the change is in force; Week its dataset week.
	From        string         `json:"from"`
	Week        string         `json:"week"`
	To          string         `json:"to,omitempty"`
	InRange     bool           `json:"in_range"` // From (or the span) overlaps the generated days
	Description string         `json:"description"`
	Details     map[string]any `json:"details,omitempty"`
}

// Event kinds.
const (
	KindExporterUpdate  = "exporter_update"
	KindPeeringChange   = "peering_change"
	KindNewService      = "new_service"
	KindBehaviourChange = "behaviour_change"
	KindShareDecline    = "share_decline"
)

func buildManifest(cfg Config, w *world) Manifest {
	first := cfg.Start
	last := cfg.Start.AddDate(0, 0, cfg.Days-1)
	m := Manifest{Generator: "telcotraffic synth 1", Seed: cfg.Seed, Start: first.Format(dayLayout),
		Days: cfg.Days, FlowsPerDay: cfg.FlowsPerDay, Compress: cfg.Compress}
	for _, a := range w.apps {
		if a.active {
			m.ActiveApps++
		} else {
			m.AbsentApps = append(m.AbsentApps, a.name)
		}
	}
	sort.Strings(m.AbsentApps)
	for _, d := range cfg.MissingDays {
		m.MissingDays = append(m.MissingDays, d.Format(dayLayout))
	}
	for _, d := range cfg.Holidays {
		m.Holidays = append(m.Holidays, d.Format(dayLayout))
	}
	sort.Strings(m.MissingDays)
	sort.Strings(m.Holidays)
	s := cfg.Script
	// A step change is visible when the range has days on both sides.
	step := func(from time.Time) bool { return from.After(first) && !from.After(last) }
	ev := func(kind, app string, from time.Time, inRange bool, desc string, det map[string]any) {
		m.Events = append(m.Events, Event{Kind: kind, App: app, From: from.Format(dayLayout),
			Week: cesnet.WeekLabel(from), InRange: inRange, Description: desc, Details: det})
	}
	ev(KindExporterUpdate, "", s.ExporterUpdate, step(s.ExporterUpdate),
		"flow exporter update: retransmitted packets appear in the PPI before this day (duplicate sizes) and are left out from it on; PACKETS, BYTES and PHIST count them throughout",
		map[string]any{"retransmissions_in_ppi_before": true})
	ev(KindPeeringChange, "", s.PeeringChange, step(s.PeeringChange),
		"peering change: round-trip times to the listed ASNs fall by the factor, shifting inter-packet times",
		map[string]any{"asns": []int64{8075, 8068, 20940}, "rtt_factor_before": slowPeeringFactor})
	if s.NewService != "" {
		ev(KindNewService, s.NewService, s.NewServiceFrom, step(s.NewServiceFrom),
			"service absent before this day, present from it on", nil)
	}
	docker := w.byName["docker-registry"]
	ev(KindBehaviourChange, docker.name, s.BehaviourChange, step(s.BehaviourChange),
		"server reply size and client JA3 mix change",
		map[string]any{
			"server_size_before": dockerSizeBefore, "server_size_after": dockerSizeAfter,
			"ja3_before": ja3s(docker.pops), "ja3_after": ja3s(docker.changed.pops),
		})
	for _, d := range s.Declines {
		m.Events = append(m.Events, Event{Kind: KindShareDecline, App: d.App, From: d.From.Format(dayLayout),
			Week: cesnet.WeekLabel(d.From), To: d.To.Format(dayLayout),
			InRange:     !d.From.After(last) && !d.To.Before(first),
			Description: "share of the day's flows falls exponentially from start_pct to end_pct",
			Details:     map[string]any{"start_pct": d.StartPct, "end_pct": d.EndPct}})
	}
	for _, d := range s.Drifts {
		m.Events = append(m.Events, driftEvent(d, first, last))
	}
	return m
}

var driftDescriptions = map[string]string{
	KindClientUpdate: "client or TLS library update: ClientHello size and JA3 change, request sizes scale, some updates add an early client record",
	KindCDNMove:      "the service moves to another CDN/ASN: round-trip times, certificate flight size and destination ASN change",
	KindAppUpdate:    "server-side application update: response and request sizes scale, the number of exchanges per flow changes",
	KindServiceFade:  "the service fades: its share falls to share_factor",
}

// driftEvent is the manifest entry of a per-app drift; adoption grows
// linearly from From to To (equal for a sudden change).
func driftEvent(d AppDrift, first, last time.Time) Event {
	det := map[string]any{"gradual": d.To.After(d.From)}
	add := func(k string, v any, zero bool) {
		if !zero {
			det[k] = v
		}
	}
	add("ch_delta", d.CHDelta, d.CHDelta == 0)
	add("ja3", d.JA3, d.JA3 == "")
	add("extra_record", d.ExtraRecord, d.ExtraRecord == 0)
	add("req_scale", d.ReqScale, d.ReqScale == 0)
	add("resp_scale", d.RespScale, d.RespScale == 0)
	add("exch_scale", d.ExchScale, d.ExchScale == 0)
	add("rtt_factor", d.RTTFactor, d.RTTFactor == 0)
	add("cert_delta", d.CertDelta, d.CertDelta == 0)
	add("asn", d.ASN, d.ASN == 0)
	add("share_factor", d.ShareFactor, d.ShareFactor == 0)
	ev := Event{Kind: d.Kind, App: d.App, From: d.From.Format(dayLayout), Week: cesnet.WeekLabel(d.From),
		InRange:     d.From.After(first) && !d.From.After(last),
		Description: driftDescriptions[d.Kind], Details: det}
	if d.To.After(d.From) {
		ev.To = d.To.Format(dayLayout)
	}
	return ev
}

func ja3s(pops []weighted[*population]) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pops {
		for _, j := range p.v.ja3 {
			if !seen[j.v] {
				seen[j.v] = true
				out = append(out, j.v)
			}
		}
	}
	sort.Strings(out)
	return out
}
