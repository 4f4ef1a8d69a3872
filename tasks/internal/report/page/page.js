// The operator's report: draws every section from the JSON in
// #report-data with the inlined Apache ECharts. No network.
(function () {
  "use strict";
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  var charts = []; // {el, build}: build() returns the option
  var DAY = 86400000;

  // ---- formatting ----
  function fmtBytes(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    var u = ["B", "kB", "MB", "GB", "TB", "PB"], i = 0, a = Math.abs(v);
    while (a >= 1000 && i < u.length - 1) { a /= 1000; v /= 1000; i++; }
    return (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)) + " " + u[i];
  }
  function fmtNum(v, metric) { return metric === "flows" ? (v === null ? "–" : Math.round(v).toLocaleString("en")) : fmtBytes(v); }
  function pct(v, d) { return v === null || v === undefined || isNaN(v) ? "–" : (100 * v).toFixed(d === undefined ? 1 : d) + " %"; }
  function iso(ms) { return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC"; }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function $(id) { return document.getElementById(id); }
  function link(url, text) {
    return url ? '<a href="' + esc(url) + '" target="_blank" rel="noopener">' + esc(text) + "</a>" : esc(text);
  }
  function table(el, head, rows) {
    var h = "<table><thead><tr>" + head.map(function (c) { return "<th>" + c + "</th>"; }).join("") + "</tr></thead><tbody>";
    h += rows.map(function (r) { return "<tr>" + r.map(function (c) { return "<td>" + c + "</td>"; }).join("") + "</tr>"; }).join("");
    el.innerHTML = '<div class="scroll">' + h + "</tbody></table></div>";
  }
  function note(el, text) { el.innerHTML = '<p class="absent">' + esc(text) + "</p>"; }

  // ---- chart helpers ----
  function base(extra) {
    var o = {
      backgroundColor: "transparent",
      animation: false,
      grid: { left: 8, right: 16, top: 40, bottom: 64, containLabel: true },
      tooltip: { trigger: "axis", confine: true },
      legend: { type: "scroll", top: 0 },
    };
    for (var k in extra) o[k] = extra[k];
    return o;
  }
  function zoom() {
    return [{ type: "inside", filterMode: "none" }, { type: "slider", height: 22, bottom: 8, filterMode: "none" }];
  }
  function chart(id, build) {
    var el = $(id);
    if (!el) return;
    charts.push({ el: el, build: build });
  }
  function draw(c) {
    var old = echarts.getInstanceByDom(c.el);
    if (old) old.dispose();
    var inst = echarts.init(c.el, dark.matches ? "dark" : null, { renderer: "canvas" });
    inst.setOption(c.build());
  }
  function drawAll() { charts.forEach(draw); }

  // ---- header ----
  function header() {
    document.title = D.title;
    $("title").textContent = D.title;
    var meta = "Generated " + esc(D.generated) + " · lake <code>" + esc(D.lake) + "</code> · Apache ECharts " + esc(D.echarts);
    if (D.mlflow) meta += " · MLflow " + link(D.mlflow, D.mlflow);
    $("meta").innerHTML = meta;
    table($("tables"), ["table", "Delta version read", "rows", "URI"], D.tables.map(function (t) {
      return [esc(t.name), t.absent ? '<span class="absent">absent</span>' : String(t.version), String(t.rows), "<code>" + esc(t.uri) + "</code>"];
    }));
  }
  function section(id, sec) {
    var src = $(id + "-source");
    if (src && sec.source) src.textContent = "Read from " + sec.source.join(", ");
    if (sec.absent) {
      var body = $(id + "-body");
      body.innerHTML = "";
      note(body, sec.absent);
      return false;
    }
    return true;
  }

  // ---- traffic ----
  function daily(hours, values) {
    var out = [], last = null;
    for (var i = 0; i < hours.length; i++) {
      var d = Math.floor(hours[i] / DAY) * DAY;
      if (last === null || last[0] !== d) { last = [d, 0]; out.push(last); }
      last[1] += values[i];
    }
    return out;
  }
  function stacked(list, hours, mode) {
    return list.map(function (s) {
      var data = mode === "daily" ? daily(hours, s.values) : hours.map(function (h, i) { return [h, s.values[i]]; });
      return { name: s.name, type: "line", stack: "all", areaStyle: {}, symbol: "none", lineWidth: 1, sampling: "lttb", data: data, lineStyle: { width: 1 } };
    });
  }
  function trafficChart(id, list) {
    var mode = "hourly";
    var c = {
      el: $(id),
      build: function () {
        return base({
          tooltip: { trigger: "axis", confine: true, valueFormatter: fmtBytes },
          xAxis: { type: "time" },
          yAxis: { type: "value", axisLabel: { formatter: fmtBytes } },
          dataZoom: zoom(),
          series: stacked(list, D.traffic.hours, mode),
        });
      },
    };
    charts.push(c);
    var sel = $(id + "-mode");
    sel.addEventListener("change", function () { mode = sel.value; draw(c); });
  }
  function traffic() {
    if (!section("traffic", D.traffic)) return;
    var T = D.traffic;
    trafficChart("traffic-categories", T.categories);
    trafficChart("traffic-apps", T.apps);
    if (!T.wow || T.wow.length === 0) { note($("traffic-wow"), "Fewer than two weeks of traffic: no week-over-week change."); $("traffic-wow-table").innerHTML = ""; return; }
    $("traffic-wow-caption").textContent = "Share of bytes, " + T.weeks[1] + " against " + T.weeks[0] + " (percentage points)";
    var cats = T.wow.filter(function (w) { return w.kind === "category"; });
    chart("traffic-wow", function () {
      var rows = cats.slice().reverse();
      return base({
        grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, formatter: function (ps) {
          var w = rows[ps[0].dataIndex];
          return esc(w.name) + "<br>" + T.weeks[0] + ": " + pct(w.prev, 2) + "<br>" + T.weeks[1] + ": " + pct(w.last, 2) + "<br>change: " + w.delta.toFixed(2) + " pp";
        } },
        xAxis: { type: "value", name: "pp" },
        yAxis: { type: "category", data: rows.map(function (w) { return w.name; }) },
        series: [{ name: "share change", type: "bar", data: rows.map(function (w) { return { value: w.delta, itemStyle: { color: w.delta >= 0 ? "#3ba272" : "#ee6666" } }; }) }],
      });
    });
    table($("traffic-wow-table"), ["app", T.weeks[0], T.weeks[1], "change (pp)"], T.wow.filter(function (w) { return w.kind === "app"; }).map(function (w) {
      return [esc(w.name), pct(w.prev, 2), pct(w.last, 2), (w.delta >= 0 ? "+" : "") + w.delta.toFixed(2)];
    }));
  }

  // ---- forecast ----
  function fcOption(s) {
    var F = D.forecast, m = F.metric;
    function pts(a) { return s.hours.map(function (h, i) { return [h, a[i]]; }); }
    function diff(u, l) { return s.hours.map(function (h, i) { return [h, u[i] === null || l[i] === null ? null : u[i] - l[i]]; }); }
    var band = { type: "line", symbol: "none", lineStyle: { opacity: 0 }, connectNulls: false };
    function mk(o) { var r = {}; for (var k in band) r[k] = band[k]; for (var j in o) r[j] = o[j]; return r; }
    return base({
      tooltip: { trigger: "axis", confine: true, formatter: function (ps) {
        var i = ps[0].dataIndex, out = iso(s.hours[i]);
        if (s.actual[i] !== null) out += "<br>actual: " + fmtNum(s.actual[i], m);
        if (s.point[i] !== null) {
          out += "<br>forecast: " + fmtNum(s.point[i], m) + "<br>80 %: " + fmtNum(s.lower_80[i], m) + " – " + fmtNum(s.upper_80[i], m) +
            "<br>95 %: " + fmtNum(s.lower_95[i], m) + " – " + fmtNum(s.upper_95[i], m);
        }
        return out;
      } },
      xAxis: { type: "time" },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return fmtNum(v, m); } } },
      dataZoom: zoom(),
      series: [
        mk({ name: "lower 95", stack: "b95", data: pts(s.lower_95) }),
        mk({ name: "95 % interval", stack: "b95", color: "#a9b8e8", areaStyle: { opacity: 0.35, color: "#5470c6" }, data: diff(s.upper_95, s.lower_95) }),
        mk({ name: "lower 80", stack: "b80", data: pts(s.lower_80) }),
        mk({ name: "80 % interval", stack: "b80", color: "#7f94d8", areaStyle: { opacity: 0.3, color: "#5470c6" }, data: diff(s.upper_80, s.lower_80) }),
        { name: "forecast", type: "line", symbol: "none", lineStyle: { type: "dashed", width: 2 }, color: "#5470c6", data: pts(s.point),
          markLine: { symbol: "none", silent: true, label: { formatter: "origin" }, data: [{ xAxis: F.origin }] } },
        { name: "actual", type: "line", symbol: "none", color: "#fac858", lineStyle: { width: 1.5 }, data: pts(s.actual) },
      ],
      legend: { type: "scroll", top: 0, data: ["actual", "forecast", "80 % interval", "95 % interval"] },
    });
  }
  function forecast() {
    if (!section("forecast", D.forecast)) return;
    var F = D.forecast;
    $("forecast-caption").textContent = "Run " + F.run_date + " (origin " + iso(F.origin) + ", model " + F.model + "), " + F.metric + " per hour";
    var total = F.series.filter(function (s) { return s.name === "total"; })[0];
    var cats = F.series.filter(function (s) { return s.name !== "total"; });
    if (total) chart("forecast-total", function () { return fcOption(total); });
    var sel = $("forecast-category-select");
    if (cats.length === 0) { note($("forecast-category"), "The run forecast no category series."); sel.hidden = true; }
    else {
      sel.innerHTML = cats.map(function (s, i) { return '<option value="' + i + '">' + esc(s.name.replace(/^category:/, "")) + "</option>"; }).join("");
      var cur = 0;
      var c = { el: $("forecast-category"), build: function () { return fcOption(cats[cur]); } };
      charts.push(c);
      sel.addEventListener("change", function () { cur = +sel.value; draw(c); });
    }
    if (F.alerts.length === 0) { note($("forecast-alerts"), "No capacity alerts in the next 24 h."); return; }
    table($("forecast-alerts"), ["severity", "series", "metric", "first hour over", "hours over", "peak upper 95 %", "peak forecast", "4-week peak"], F.alerts.map(function (a) {
      var cls = a.severity >= 1.5 ? "sev-high" : a.severity >= 1 ? "sev-mid" : "sev-low";
      return ['<span class="' + cls + '">' + (a.severity ? a.severity.toFixed(2) + "×" : "–") + "</span>", esc(a.series), esc(a.metric), iso(a.first_hour), String(a.hours),
        fmtNum(a.peak_upper_95, a.metric), fmtNum(a.peak_point, a.metric), fmtNum(a.peak_4w, a.metric)];
    }));
  }

  // ---- classifier ----
  function classifier() {
    if (!section("classifier", D.classifier)) return;
    var C = D.classifier;
    $("classifier-caption").innerHTML = esc(C.model) + " version " + esc(C.version) + " (" + esc(C.alias) + "), evaluated on " + esc(C.data) +
      ", run " + link(C.run_url, C.run_id.slice(0, 12));
    chart("classifier-weeks", function () {
      var s = [];
      C.variants.forEach(function (v) {
        s.push({ name: "macro-F1 " + v.feature_set, type: "line", data: v.macro_f1, symbolSize: 7 });
        s.push({ name: "accuracy " + v.feature_set, type: "line", data: v.accuracy, lineStyle: { type: "dashed" }, symbolSize: 5 });
      });
      return base({
        grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", confine: true, valueFormatter: function (v) { return pct(v); } },
        xAxis: { type: "category", data: C.weeks },
        yAxis: { type: "value", max: 1, min: function (v) { return Math.max(0, Math.floor(v.min * 10 - 0.5) / 10); },
          axisLabel: { formatter: function (v) { return pct(v, 0); } } },
        series: s,
      });
    });
    chart("classifier-weakest", function () {
      var rows = C.weakest.slice().reverse();
      return base({
        grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, formatter: function (ps) {
          var r = rows[ps[0].dataIndex];
          return esc(r.class) + " (" + esc(r.feature_set) + ")<br>F1 " + r.f1.toFixed(3) + "<br>precision " + r.precision.toFixed(3) + "<br>recall " + r.recall.toFixed(3) + "<br>support " + r.support;
        } },
        xAxis: { type: "value", min: 0, max: 1 },
        yAxis: { type: "category", data: rows.map(function (r) { return r.class + " · " + r.feature_set; }), axisLabel: { width: 180, overflow: "truncate" } },
        series: [{ name: "F1", type: "bar", data: rows.map(function (r) { return { value: r.f1, itemStyle: { color: r.feature_set === "sni" ? "#5470c6" : "#91cc75" } }; }) }],
      });
    });
    var M = C.confusion;
    if (!M || !M.labels || M.labels.length === 0) { note($("classifier-confusion"), (M && M.note) || "No confusion matrix."); return; }
    if (M.note) $("classifier-confusion-note").textContent = M.note;
    chart("classifier-confusion", function () {
      var data = [], n = M.labels.length;
      for (var t = 0; t < n; t++) {
        var sum = M.matrix[t].reduce(function (a, b) { return a + b; }, 0);
        for (var p = 0; p < n; p++) if (M.matrix[t][p] > 0) data.push([p, t, sum ? +(M.matrix[t][p] / sum).toFixed(4) : 0, M.matrix[t][p]]);
      }
      return base({
        grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "item", confine: true, formatter: function (p) {
          return "true " + esc(M.labels[p.value[1]]) + "<br>predicted " + esc(M.labels[p.value[0]]) + "<br>" + p.value[3] + " flows (" + pct(p.value[2]) + " of the row)";
        } },
        xAxis: { type: "category", data: M.labels, axisLabel: { rotate: 45, fontSize: 10 } },
        yAxis: { type: "category", data: M.labels, inverse: true, axisLabel: { fontSize: 10 } },
        visualMap: { min: 0, max: 1, calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, dimension: 2, show: false,
          inRange: { color: ["#e0ecf8", "#5470c6", "#1d2f6f"] } },
        legend: { show: false },
        series: [{ name: "share of the true category", type: "heatmap", data: data, emphasis: { itemStyle: { borderColor: "#000", borderWidth: 1 } } }],
      });
    });
  }

  // ---- usage ----
  function usage() {
    if (!section("usage", D.usage)) return;
    var U = D.usage, last = U.days.length - 1;
    for (var d = U.days.length - 1; d >= 0; d--) if (U.mae[d] !== null) { last = d; break; }
    $("usage-caption").textContent = "Day " + U.days[last] + ": share of flows per app, estimated by the score task and by label";
    chart("usage-shares", function () {
      return base({
        grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, valueFormatter: function (v) { return pct(v, 2); } },
        xAxis: { type: "category", data: U.apps.map(function (a) { return a.app; }), axisLabel: { rotate: 40, fontSize: 10 } },
        yAxis: { type: "value", axisLabel: { formatter: function (v) { return pct(v, 0); } } },
        series: [
          { name: "estimated", type: "bar", data: U.apps.map(function (a) { return a.share[last]; }) },
          { name: "true", type: "bar", data: U.apps.map(function (a) { return a.true_share[last]; }) },
        ],
      });
    });
    chart("usage-error", function () {
      return base({
        tooltip: { trigger: "axis", confine: true, valueFormatter: function (v) { return pct(v, 2); } },
        xAxis: { type: "category", data: U.days },
        yAxis: { type: "value", axisLabel: { formatter: function (v) { return pct(v, 2); } } },
        dataZoom: zoom(),
        series: [{ name: "mean absolute share error", type: "line", data: U.mae, connectNulls: false }],
      });
    });
  }

  // ---- drift ----
  function drift() {
    var R = D.drift;
    var src = $("drift-source");
    if (R.source) src.textContent = "Read from " + R.source.join(", ");
    if (R.absent) note($("drift-metrics"), R.absent);
    else {
      chart("drift-timeline", function () {
        var s = R.metrics.map(function (m) {
          return { name: m.metric, type: "line", data: m.ratio, symbolSize: function (v, p) { return m.alerts[p.dataIndex] ? 12 : 5; },
            connectNulls: true };
        });
        s.push({ name: "alerts", type: "bar", yAxisIndex: 1, barMaxWidth: 18, itemStyle: { opacity: 0.35 },
          data: R.windows.map(function (w, i) { return R.metrics.reduce(function (a, m) { return a + m.alerts[i]; }, 0); }) });
        s[0].markLine = { symbol: "none", silent: true, label: { formatter: "threshold" }, lineStyle: { type: "dashed", color: "#ee6666" }, data: [{ yAxis: 1 }] };
        return base({
          tooltip: { trigger: "axis", confine: true },
          xAxis: { type: "category", data: R.windows },
          yAxis: [{ type: "value", name: "value / threshold" }, { type: "value", name: "alerts", minInterval: 1, splitLine: { show: false } }],
          dataZoom: zoom(),
          series: s,
        });
      });
      if (R.alerts.length === 0) note($("drift-alerts"), "No drift alerts.");
      else table($("drift-alerts"), ["window", "reference", "scope", "feature", "metric", "value", "threshold"], R.alerts.map(function (a) {
        return [esc(a.window), esc(a.reference), esc(a.scope), esc(a.feature), esc(a.metric), a.value.toPrecision(4), a.threshold.toPrecision(4)];
      }));
    }
    if (!R.emerging || R.emerging.length === 0) note($("drift-emerging"), D.traffic.absent ? "No traffic_hourly to look for new services in." : "No service appeared after the first two weeks of traffic.");
    else table($("drift-emerging"), ["service", "category", "first seen", "bytes in the last week", "share of the last week"], R.emerging.map(function (e) {
      return [esc(e.app), esc(e.category), esc(e.first_seen), fmtBytes(e.last_week_bytes), pct(e.last_week_share, 3)];
    }));
  }

  // ---- lineage ----
  function lineage() {
    if (!section("lineage", D.lineage)) return;
    var L = D.lineage;
    function tv(m) { return Object.keys(m || {}).sort().map(function (k) { return esc(k) + "@" + m[k]; }).join("<br>") || "–"; }
    if (!L.versions || L.versions.length === 0) note($("lineage-versions"), "No registered model versions.");
    else table($("lineage-versions"), ["model version", "aliases", "created", "run", "Delta tables learned from", "window", "scores"], L.versions.map(function (v) {
      var sc = Object.keys(v.scores || {}).sort().map(function (k) { return esc(k) + " " + v.scores[k].toFixed(4); }).join("<br>") || "–";
      return [link(v.url, v.model + " v" + v.version), esc((v.aliases || []).join(", ")), iso(v.created), link(v.run_url, (v.run_id || "").slice(0, 12)), tv(v.tables), esc(v.window || "–"), sc];
    }));
    if (!L.runs || L.runs.length === 0) note($("lineage-runs"), "No forecaster runs.");
    else table($("lineage-runs"), ["run", "experiment", "kind", "status", "started", "Delta tables read", "Delta tables written"], L.runs.map(function (r) {
      return [link(r.url, r.name || r.run_id.slice(0, 12)), esc(r.experiment), esc(r.kind || "–"), esc(r.status), iso(r.start), tv(r.inputs), tv(r.outputs)];
    }));
  }

  // ---- replay (make replay's replay_weekly, when present) ----
  function replay() {
    if (!D.replay) return;
    $("replay").hidden = false;
    if (!section("replay", D.replay)) return;
    function f(v) { return v === null || v === undefined ? "–" : v.toFixed(4); }
    table($("replay-weeks"), ["week", "flows", "frozen macro-F1 (no SNI)", "frozen accuracy", "loop macro-F1 (no SNI)", "loop accuracy",
      "loop version", "forecast MASE", "drift alert days", "retrains", "false retrains", "promotions", "changes"], D.replay.weeks.map(function (w) {
      return [esc(w.week), String(w.flows), f(w.frozen_macro_f1_no_sni), f(w.frozen_accuracy_no_sni), f(w.loop_macro_f1_no_sni),
        f(w.loop_accuracy_no_sni), esc("v" + w.loop_version), f(w.forecast_mase), String(w.drift_alert_days), String(w.retrains),
        String(w.false_retrains), String(w.promotions), esc(w.events || "–")];
    }));
  }

  var errors = [];
  [header, traffic, forecast, classifier, usage, drift, replay, lineage].forEach(function (f) {
    try { f(); } catch (e) { errors.push(String(e && e.stack || e)); console.error(e); }
  });
  drawAll();
  var resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { charts.forEach(function (c) { var i = echarts.getInstanceByDom(c.el); if (i) i.resize(); }); }, 100);
  });
  if (dark.addEventListener) dark.addEventListener("change", drawAll);
  window.report = { errors: errors, charts: charts.length, renderMs: performance.now() - t0, ready: true };
})();
