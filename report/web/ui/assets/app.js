// flashload's front-end: one script for the live page (server-sent events of a run's
// snapshots) and report.html (a finished run's summary embedded in the page). Charts are
// uPlot's: hover shows every series' value at the cursor (charts of one page share it), a drag
// zooms into a span and a double click zooms out, a click on a legend entry hides or shows the
// series. Everything the page shows comes from the data element or the event stream: the
// script fetches nothing else.
(function () {
  "use strict";

  // window.flashload is what tests read: the charts by id, errors seen, events received.
  var FL = (window.flashload = { charts: {}, errors: [], events: 0, ready: false, state: "" });
  window.addEventListener("error", function (e) {
    FL.errors.push(String(e.message || e));
  });

  // ---- formatting ----
  function pad(n) {
    return n < 10 ? "0" + n : "" + n;
  }
  function clock(s) {
    if (s == null || !isFinite(s)) return "–";
    var neg = s < 0;
    s = Math.round(Math.abs(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
    return (neg ? "-" : "") + h + ":" + pad(m) + ":" + pad(x);
  }
  // tick labels a time axis: h:mm:ss, or seconds with decimals when the ticks are closer
  // than a second (the first seconds of a run).
  function tick(v, incr) {
    if (incr > 0 && incr < 1) return v.toFixed(incr < 0.1 ? 2 : 1) + "s";
    return clock(v);
  }
  function compact(v) {
    if (v == null || !isFinite(v)) return "–";
    var a = Math.abs(v);
    if (a >= 1e9) return trim(v / 1e9) + "G";
    if (a >= 1e6) return trim(v / 1e6) + "M";
    if (a >= 1e3) return trim(v / 1e3) + "k";
    return trim(v);
  }
  function trim(v) {
    var a = Math.abs(v);
    var s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
    return s.indexOf(".") >= 0 ? s.replace(/\.?0+$/, "") : s;
  }
  function ms(v) {
    if (v == null || !isFinite(v)) return "–";
    if (v === 0) return "0";
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
  }
  function count(n) {
    if (n == null || !isFinite(n)) return "–";
    return Math.round(n).toLocaleString("en-US");
  }
  function pct(x) {
    if (x == null || !isFinite(x)) return "–";
    return (100 * x).toFixed(x > 0 && x < 0.001 ? 3 : 1) + "%";
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs)
      for (var k in attrs) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "cls") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      }
    (kids || []).forEach(function (c) {
      if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  // table makes a table: a header row, then rows whose first cell is a header; cells are
  // right-aligned numbers but for the columns in text (indexes).
  function table(id, head, rows, text) {
    var t = el("table", id ? { id: id } : null);
    if (head) t.appendChild(el("tr", null, head.map(function (h) { return el("th", { text: h }); })));
    rows.forEach(function (r) {
      t.appendChild(el("tr", null, r.map(function (c, i) {
        if (c instanceof Node) return el("td", null, [c]);
        var num = i > 0 && !(text && text.indexOf(i) >= 0);
        return el(i === 0 ? "th" : "td", { text: c == null ? "" : String(c), cls: num ? "num" : "" });
      })));
    });
    return t;
  }

  // ---- the timeline, by column ----
  // Keys of a timeline point (summary.json) and the column each goes to.
  var COLS = [
    ["wall", "wall"], ["t", "t"], ["target_rps", "target"], ["achieved_rps", "achieved"],
    ["p50_ms", "p50"], ["p99_ms", "p99"], ["errors", "errors"], ["shed", "shed"],
    ["dropped", "dropped"], ["replicas", "replicas"], ["stock_left", "stock_left"],
  ];
  function emptyCols() {
    var c = { sku_left: {} };
    COLS.forEach(function (k) { c[k[1]] = []; });
    return c;
  }
  function colsFromTimeline(tl) {
    var c = emptyCols();
    (tl || []).forEach(function (p, i) {
      COLS.forEach(function (k) { c[k[1]].push(p[k[0]] == null ? 0 : p[k[0]]); });
      if (p.sku_left)
        for (var sku in p.sku_left) {
          if (!c.sku_left[sku]) c.sku_left[sku] = new Array(i).fill(null);
          c.sku_left[sku].push(p.sku_left[sku]);
        }
      for (var s in c.sku_left) if (c.sku_left[s].length < i + 1) c.sku_left[s].push(null);
      // Answers per replica: a replica without answers in a window has 0 there.
      c.by_replica = c.by_replica || {};
      for (var r in p.by_replica || {}) if (!c.by_replica[r]) c.by_replica[r] = new Array(i).fill(0);
      for (var q in c.by_replica) c.by_replica[q].push((p.by_replica || {})[q] || 0);
    });
    return c;
  }
  // mergePoints adds the server's points (columns keyed by wall) to c: a window already there
  // is replaced (late answers update it), a later one appended.
  function mergePoints(c, pts) {
    if (!pts || !pts.wall) return;
    var n = pts.wall.length;
    for (var j = 0; j < n; j++) {
      var w = pts.wall[j], len = c.wall.length, i = len;
      while (i > 0 && c.wall[i - 1] >= w) i--;
      var replace = i < len && c.wall[i] === w;
      if (!replace && i < len) continue; // older than what we hold: out of order, ignored
      COLS.forEach(function (k) {
        var v = pts[k[1]] ? pts[k[1]][j] : 0;
        if (replace) c[k[1]][i] = v;
        else c[k[1]].push(v);
      });
      var sk = pts.sku_left || {};
      for (var s in sk) if (!c.sku_left[s]) c.sku_left[s] = new Array(len).fill(null);
      for (var s2 in c.sku_left) {
        var v2 = sk[s2] ? sk[s2][j] : null;
        if (replace) c.sku_left[s2][i] = v2;
        else c.sku_left[s2].push(v2);
      }
    }
  }

  // ---- charts ----
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
  var PRED = "#555";

  function fmtFor(kind) {
    if (kind === "ms") return ms;
    if (kind === "rate") return compact;
    return function (v) { return v == null ? "–" : count(v); };
  }

  function anyNonZero(a) {
    for (var i = 0; i < a.length; i++) if (a[i]) return true;
    return false;
  }

  // chartSpecs says which charts a run has: an id, a title, the y unit, and series each with
  // its own x (tables with different x are joined). Report pages leave out series that are zero
  // everywhere, and a chart with none left; live pages keep rate, latency and errors always.
  function chartSpecs(ctx) {
    var c = ctx.cols, p = ctx.pred, out = [];
    function s(label, xs, ys, o) {
      o = o || {};
      return { label: label, xs: xs, ys: ys, pred: !!o.pred, step: !!o.step };
    }
    function predS(key, label) {
      return p && p.t.length ? [s(label || "predicted", p.t, p[key], { pred: true })] : [];
    }
    out.push({ id: "rate", title: "Target and achieved rate", unit: "rate", ylabel: "requests/s",
      series: [s("target", c.t, c.target), s("achieved", c.t, c.achieved)].concat(predS("achieved")) });
    out.push({ id: "latency", title: "Latency over time (from the intended send time)", unit: "ms", ylabel: "ms",
      series: [s("p50", c.t, c.p50), s("p99", c.t, c.p99)].concat(predS("p99", "predicted p99")) });
    out.push({ id: "errors", title: "Errors, shed and dropped per window", unit: "count", ylabel: "requests",
      series: [s("errors", c.t, c.errors), s("shed", c.t, c.shed), s("dropped", c.t, c.dropped)] });
    var skus = (ctx.skus || []).filter(function (k) { return k.stock > 0 && c.sku_left[k.sku]; });
    if (skus.length) {
      skus.forEach(function (k) {
        var sp = { id: "stock-" + k.sku, title: "Stock left: " + k.sku, unit: "count", ylabel: "units", keep: true,
          series: [s("stock left", c.t, c.sku_left[k.sku])] };
        if (p && p.sku_left[k.sku]) sp.series.push(s("predicted", p.t, p.sku_left[k.sku], { pred: true }));
        if (k.sold_out_at_s != null) {
          sp.marks = [{ x: k.sold_out_at_s, label: "sold out" }];
          sp.note = "sold out at " + clock(k.sold_out_at_s) + " of scenario time";
        }
        out.push(sp);
      });
    } else if (!ctx.live || anyNonZero(c.stock_left)) {
      out.push({ id: "stock", title: "Stock left", unit: "count", ylabel: "units",
        series: [s("stock left", c.t, c.stock_left)].concat(predS("stock_left")) });
    }
    out.push({ id: "replicas", title: "Replicas", unit: "count", ylabel: "replicas",
      series: [s("replicas", c.t, c.replicas)].concat(predS("replicas")) });
    if (ctx.scale && ctx.scale.length) {
      var sc = { id: "scale", title: "Replicas at each autoscaler decision (desired)", unit: "count", ylabel: "replicas",
        series: [s("live", ctx.scale.map(function (q) { return q.t; }), ctx.scale.map(function (q) { return q.desired; }), { step: true })] };
      if (ctx.predScale && ctx.predScale.length)
        sc.series.push(s("predicted", ctx.predScale.map(function (q) { return q.t; }), ctx.predScale.map(function (q) { return q.desired; }), { pred: true, step: true }));
      sc.note = ctx.scaleNote || "";
      out.push(sc);
    }
    var reps = Object.keys(c.by_replica || {}).sort(function (a, b) { return a.localeCompare(b, "en", { numeric: true }); });
    if (reps.length > 1 && ctx.win > 0) {
      out.push({ id: "by-replica", title: "Answers per replica", unit: "rate", ylabel: "answers/s", note: ctx.spreadNote || "",
        series: reps.map(function (r) { return s(r, c.t, c.by_replica[r].map(function (n) { return n / ctx.win; })); }) });
    }
    return out.filter(function (sp) {
      if (ctx.live && (sp.id === "rate" || sp.id === "latency" || sp.id === "errors")) return true;
      sp.series = sp.series.filter(function (se) { return anyNonZero(se.ys); });
      return sp.series.length > 0;
    });
  }

  // tableOf joins the series of a spec into uPlot's columns: one x, a column per series.
  function tableOf(sp) {
    var groups = [], byX = [];
    sp.series.forEach(function (se) {
      var g = byX.indexOf(se.xs);
      if (g < 0) {
        byX.push(se.xs);
        groups.push([se.xs]);
        g = groups.length - 1;
      }
      groups[g].push(se.ys);
    });
    var order = [];
    groups.forEach(function (g, gi) { for (var i = 1; i < g.length; i++) order.push([gi, i]); });
    var joined = groups.length === 1 ? groups[0] : uPlot.join(groups);
    // joined's columns follow the groups; put them back in the series' order.
    var cols = [joined[0]], at = 1, pos = {};
    groups.forEach(function (g, gi) { for (var i = 1; i < g.length; i++) pos[gi + ":" + i] = at++; });
    var seen = {};
    sp.series.forEach(function (se) {
      var g = byX.indexOf(se.xs);
      var k = (seen[g] = (seen[g] || 0) + 1);
      cols.push(joined[pos[g + ":" + k]]);
    });
    return cols;
  }

  function extent(x) {
    return x.length ? [x[0], x[x.length - 1]] : null;
  }

  function shapeOf(sp) {
    return sp.series.map(function (se) { return se.label + (se.pred ? "~" : ""); }).join("|");
  }

  var SYNC = "flashload";

  // Chart is one uPlot chart in a figure, redrawn from new specs of the same id.
  function Chart(parent, sp, faults) {
    this.fig = el("figure", { cls: "chart", id: "chart-" + sp.id }, [el("figcaption", { text: sp.title })]);
    this.body = el("div", { cls: "plot" });
    this.hint = el("p", { cls: "note faultnote" });
    this.noteEl = el("p", { cls: "note" });
    this.fig.appendChild(this.body);
    this.fig.appendChild(this.hint);
    this.fig.appendChild(this.noteEl);
    parent.appendChild(this.fig);
    this.faults = faults || [];
    this.build(sp);
  }
  Chart.prototype.build = function (sp) {
    var self = this;
    if (this.u) this.u.destroy();
    this.sp = sp;
    this.shape = shapeOf(sp);
    var f = fmtFor(sp.unit);
    var ci = 0;
    var series = [{ label: "scenario time", value: function (u, v) { return clock(v); } }];
    sp.series.forEach(function (se) {
      var o = { label: se.label, stroke: se.pred ? PRED : PALETTE[ci++ % PALETTE.length], width: 1.5,
        spanGaps: true, points: { show: false }, value: function (u, v) { return v == null ? "–" : f(v); } };
      if (se.pred) o.dash = [6, 4];
      if (se.step) o.paths = uPlot.paths.stepped({ align: 1 });
      series.push(o);
    });
    var opts = {
      width: this.width(), height: 220, series: series,
      scales: { x: { time: false } },
      cursor: { sync: { key: SYNC }, drag: { x: true, y: false } },
      legend: { live: true },
      axes: [
        { label: "scenario time", values: function (u, vals, ai, space, incr) { return vals.map(function (v) { return tick(v, incr); }); }, space: 70 },
        { label: sp.ylabel, size: 64, values: function (u, vals) { return vals.map(sp.unit === "ms" ? ms : compact); } },
      ],
      hooks: {
        draw: [function (u) { self.drawMarks(u); }],
        setCursor: [function (u) { self.cursorHint(u); }],
      },
    };
    var d = tableOf(sp);
    this.u = new uPlot(opts, d, this.body);
    this.range = extent(d[0]);
    this.noteEl.textContent = sp.note || (this.faults.length ? "Shaded: the faults, over the time each was in effect (a line: an instant fault); hover for each." : "");
    FL.charts[sp.id] = this.u;
  };
  Chart.prototype.width = function () {
    var w = this.fig.clientWidth || (this.fig.parentNode && this.fig.parentNode.clientWidth) || 800;
    return Math.max(320, Math.floor(w) - 4);
  };
  Chart.prototype.update = function (sp, faults) {
    this.faults = faults || [];
    if (shapeOf(sp) !== this.shape) return this.build(sp);
    this.sp = sp;
    var u = this.u, d = tableOf(sp), r = this.range;
    // Keep a zoom the viewer chose: new windows arrive without moving the view. (The columns
    // grow in place, so the range drawn last is kept to tell a zoom from new data.)
    var zoomed = r && u.scales.x.min != null && (u.scales.x.min > r[0] + 1e-9 || u.scales.x.max < r[1] - 1e-9);
    u.setData(d, !zoomed);
    this.range = extent(d[0]);
    if (sp.note) this.noteEl.textContent = sp.note;
  };
  Chart.prototype.resize = function () {
    this.u.setSize({ width: this.width(), height: 220 });
  };
  // drawMarks shades each fault's span (a line for an instant fault) and draws the spec's
  // vertical marks (a SKU's sell-out moment).
  Chart.prototype.drawMarks = function (u) {
    var ctx = u.ctx, b = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    var shades = (u.flShades = []); // what was drawn, in CSS pixels of the plot (tests read it)
    this.faults.forEach(function (f) {
      var x0 = u.valToPos(f.from, "x", true), x1 = u.valToPos(f.to, "x", true);
      var instant = x1 - x0 < 2 * devicePixelRatio;
      shades.push({ kind: f.kind, x0: x0 / devicePixelRatio, x1: x1 / devicePixelRatio, instant: instant });
      ctx.fillStyle = instant ? "rgba(214,39,40,0.7)" : f.ok ? "rgba(214,39,40,0.14)" : "rgba(214,39,40,0.3)";
      ctx.fillRect(instant ? x0 - devicePixelRatio : x0, b.top, instant ? 2 * devicePixelRatio : x1 - x0, b.height);
    });
    (this.sp.marks || []).forEach(function (m) {
      var x = Math.round(u.valToPos(m.x, "x", true));
      ctx.strokeStyle = "#2ca02c";
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, b.top);
      ctx.lineTo(x, b.top + b.height);
      ctx.stroke();
    });
    ctx.restore();
  };
  // cursorHint names the faults in effect at the cursor's time.
  Chart.prototype.cursorHint = function (u) {
    if (!this.faults.length) return;
    var i = u.cursor.idx;
    if (i == null) { this.hint.textContent = ""; return; }
    var t = u.data[0][i], half = u.data[0].length > 1 ? Math.abs(u.data[0][1] - u.data[0][0]) / 2 : 0;
    var on = this.faults.filter(function (f) { return f.from - half <= t && t <= f.to + half; });
    this.hint.textContent = on.length ? "fault: " + on.map(function (f) { return f.line; }).join("; ") : "";
  };

  // Charts keeps a page section's charts in the order the specs give.
  function Charts(parent) {
    this.parent = parent;
    this.byId = {};
  }
  Charts.prototype.draw = function (specs, faults) {
    var self = this;
    specs.forEach(function (sp) {
      var c = self.byId[sp.id];
      if (c) c.update(sp, faults);
      else self.byId[sp.id] = new Chart(self.parent, sp, faults);
    });
  };
  Charts.prototype.resize = function () {
    for (var id in this.byId) this.byId[id].resize();
  };
  Charts.prototype.clear = function () {
    for (var id in this.byId) {
      this.byId[id].u.destroy();
      delete FL.charts[id];
    }
    this.byId = {};
    this.parent.textContent = "";
  };

  // spectrumChart draws latency against percentile: x is -log10(1-q), labelled 90%, 99%, ...
  function spectrumChart(parent, id, sp) {
    var labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
    var m = sp.measured || [], p = sp.predicted || [];
    if (!m.length && !p.length) return;
    var tables = [[m.map(function (v) { return v[0]; }), m.map(function (v) { return v[1]; })]];
    var series = [{ label: "percentile", value: function (u, v) { return v == null ? "–" : qLabel(v); } },
      { label: "measured", stroke: PALETTE[0], width: 1.5, spanGaps: true, points: { show: false }, value: function (u, v) { return ms(v); } }];
    if (p.length) {
      tables.push([p.map(function (v) { return v[0]; }), p.map(function (v) { return v[1]; })]);
      series.push({ label: "predicted", stroke: PRED, dash: [6, 4], width: 1.5, spanGaps: true, points: { show: true, size: 4 }, value: function (u, v) { return ms(v); } });
    }
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var fig = el("figure", { cls: "chart", id: "chart-" + id }, [el("figcaption", { text: "Latency percentile spectrum" })]);
    var body = el("div", { cls: "plot" });
    fig.appendChild(body);
    fig.appendChild(el("p", { cls: "note", text: "x: percentile on a log scale of 1/(1-q); the measured curve is read from the run's HDR histogram" }));
    parent.appendChild(fig);
    var w = Math.max(320, Math.floor(fig.clientWidth || parent.clientWidth || 800) - 4);
    var u = new uPlot({
      width: w, height: 220, series: series,
      scales: { x: { time: false, range: [0, 5.25] } },
      cursor: { drag: { x: true, y: false } },
      axes: [
        { label: "percentile", splits: function () { return [0, 1, 2, 3, 4, 5]; }, values: function (u, v) { return v.map(function (x) { return labels[Math.round(x)] || ""; }); } },
        { label: "ms", size: 64, values: function (u, vals) { return vals.map(ms); } },
      ],
    }, data, body);
    FL.charts[id] = u;
    resizers.push(function () { u.setSize({ width: Math.max(320, Math.floor(fig.clientWidth) - 4), height: 220 }); });
  }
  function qLabel(x) {
    var q = 100 * (1 - Math.pow(10, -x));
    return (q >= 99.99 ? q.toFixed(4) : q >= 99 ? q.toFixed(2) : q.toFixed(1)) + "%";
  }

  var resizers = [];
  var resizeTimer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { resizers.forEach(function (f) { f(); }); }, 150);
  });

  // ---- report.html ----
  function report(d) {
    var s = d.summary;
    var main = new Charts(document.getElementById("charts"));
    resizers.push(function () { main.resize(); });
    main.draw(chartSpecs({
      cols: colsFromTimeline(s.timeline), pred: d.predicted ? colsFromTimeline(d.predicted.timeline) : null,
      skus: s.skus, scale: s.scale, predScale: d.predicted ? d.predicted.scale : null,
      scaleNote: d.scale_note || "", win: s.window_s, spreadNote: d.spread_note || "",
    }), d.faults || []);
    spectrumChart(document.getElementById("charts"), "spectrum", d.spectrum || {});
    var fullEl = document.getElementById("full-charts");
    if (d.full && fullEl) {
      var full = new Charts(fullEl);
      var specs = chartSpecs({ cols: colsFromTimeline(d.full.timeline), skus: d.full.skus, scale: d.full.scale });
      specs.forEach(function (sp) { sp.id = "full-" + sp.id; });
      full.draw(specs, []);
      resizers.push(function () { full.resize(); });
      spectrumChart(fullEl, "full-spectrum", d.full_spectrum || {});
    }
    FL.state = "report";
    FL.ready = true;
  }

  // ---- the live page ----
  var L = { cols: emptyCols(), snap: null, run: -1, charts: null, canStop: false, stopping: false, final: null, token: "", client: "" };

  function q(extra) {
    var p = [];
    if (L.token) p.push("token=" + encodeURIComponent(L.token));
    if (extra) p.push(extra);
    return p.length ? "?" + p.join("&") : "";
  }

  function live() {
    L.token = new URLSearchParams(location.search).get("token") || "";
    L.charts = new Charts(document.getElementById("charts"));
    resizers.push(function () { L.charts.resize(); });
    var stop = document.getElementById("stop");
    stop.addEventListener("click", function () {
      if (!confirm("Stop the run? Arrivals end, requests in flight drain, and the summary is written (as q does on the terminal).")) return;
      stop.disabled = true;
      fetch("stop" + q(), { method: "POST", headers: { "X-Flashload-Token": L.token } }).then(function (r) {
        if (!r.ok) throw new Error("stop: " + r.status);
        L.stopping = true;
        status();
      }).catch(function (e) {
        stop.disabled = false;
        FL.errors.push(String(e));
      });
    });
    var es = new EventSource("events" + q());
    FL.stream = es;
    es.addEventListener("hello", function (e) {
      var d = JSON.parse(e.data);
      L.client = d.client;
      L.canStop = !!d.can_stop;
      L.run = -1;
      onRun(d);
      if (d.result) onResult(d.result);
    });
    es.addEventListener("snapshot", function (e) { onRun(JSON.parse(e.data)); });
    es.addEventListener("result", function (e) { onResult(JSON.parse(e.data)); });
    es.addEventListener("bye", function () {
      L.bye = true;
      es.close();
      status();
    });
    es.onerror = function () {
      L.lost = !L.bye;
      status();
    };
    es.onopen = function () {
      L.lost = false;
      status();
    };
  }

  function onRun(d) {
    FL.events++;
    if (d.run !== L.run) {
      // A new run (rehearse plays one per strategy): start its charts afresh.
      L.run = d.run;
      L.cols = emptyCols();
      L.final = null;
      L.stopping = false;
      L.charts.clear();
      document.getElementById("result").hidden = true;
    }
    mergePoints(L.cols, d.points);
    if (d.snap) L.snap = d.snap;
    render();
  }

  function render() {
    var s = L.snap;
    if (!s) return;
    header(s);
    L.charts.draw(chartSpecs({ cols: L.cols, skus: s.skus, scale: s.scale, predScale: s.predicted_scale, live: true }), s.faults || []);
    panels(s);
    FL.ready = true;
  }

  function status() {
    var st = document.getElementById("status"), s = L.snap || {};
    var text = "connecting", cls = "dim";
    if (L.final) { text = "done" + (L.final.summary && L.final.summary.partial ? " (partial)" : ""); cls = "good"; }
    else if (s.done) { text = "finishing: auditing and writing the report"; cls = "warn"; }
    else if (L.stopping) { text = "stopping…"; cls = "warn"; }
    else if (L.snap) { text = "running"; cls = "good"; }
    if (L.lost && !L.final) { text = "disconnected: retrying"; cls = "bad"; }
    if (L.bye) text += " · the process has ended";
    st.textContent = text;
    st.className = "status " + cls;
    FL.state = text;
    var stop = document.getElementById("stop");
    stop.hidden = !L.canStop || !!L.final || !!s.done || !!L.bye;
    stop.disabled = L.stopping;
  }

  function header(s) {
    var parts = [s.mode];
    if (s.target) parts.push("target " + s.target);
    if (s.strategy) parts.push("strategy " + s.strategy);
    if (s.segment) parts.push("segment " + s.segment);
    document.getElementById("name").textContent = s.name || "waiting for the run";
    document.title = "flashload: " + (s.name || "live");
    document.getElementById("meta").textContent = parts.filter(Boolean).join(" · ");
    document.getElementById("clocks").textContent = "scenario " + clock(s.scenario_s) + " / " + clock(s.scenario_duration_s) +
      "   wall " + clock(s.wall_s) + (s.compress > 0 ? "   ×" + trim(s.compress) : "") + "   " + pct(s.progress);
    document.getElementById("progress").value = s.progress || 0;
    document.getElementById("next").textContent = "next: " + (s.next_stage || "none (last stage)");
    status();
  }

  function section(id, title, kids) {
    var box = document.getElementById(id);
    box.textContent = "";
    box.appendChild(el("h3", { text: title }));
    kids.forEach(function (k) { if (k) box.appendChild(typeof k === "string" ? el("p", { text: k }) : k); });
    box.hidden = false;
  }

  function panels(s) {
    var fig = [
      ["target now", compact(s.last.target_rps) + "/s"], ["achieved now", compact(s.last.achieved_rps) + "/s"],
      ["achieved so far", compact(s.total.achieved_rps) + "/s of " + compact(s.total.target_rps) + "/s"],
      ["requests", count(s.total.requests)], ["errors", count(s.total.errors)], ["shed", count(s.total.shed)],
      ["dropped", count(s.total.dropped)], ["retries", count(s.retries)], ["in flight", count(s.in_flight)],
    ];
    var box = document.getElementById("figures");
    box.textContent = "";
    fig.forEach(function (f) {
      box.appendChild(el("div", { cls: "figure", "data-name": f[0] }, [el("span", { cls: "label", text: f[0] }), el("span", { cls: "value", text: f[1] })]));
    });

    var lat = [["latency now", s.last.latency], ["service now", s.last.service], ["latency all", s.total.latency], ["service all", s.total.service]];
    section("latency", "Latency (ms)", [table("latency-table", ["", "p50", "p90", "p99", "p99.9", "max"], lat.map(function (r) {
      var p = r[1] || {};
      return [r[0], ms(p.p50), ms(p.p90), ms(p.p99), ms(p.p999), ms(p.max)];
    })), "latency: from the intended send time (no coordinated omission); service: from the actual send."]);

    var codes = Object.keys(s.by_code || {}).sort(function (a, b) { return s.by_code[b] - s.by_code[a]; });
    var errs = Object.keys(s.by_error || {}).filter(function (k) { return s.by_error[k] > 0; }).sort();
    section("answers", "Answers by code", [
      codes.length ? table("codes", ["code", "answers"], codes.map(function (c) { return [c, count(s.by_code[c])]; })) : "no answers yet",
      "no-answer errors: " + (errs.length ? errs.map(function (k) { return k + " " + count(s.by_error[k]); }).join(", ") : "none"),
    ]);

    var sale = [];
    if (s.skus && s.skus.length) {
      sale.push(table("sale", ["sku", "sold / stock", "sold", "sold out at", "oversold"], s.skus.map(function (k) {
        return [k.sku + (k.flash ? " *" : ""), count(k.sold) + " / " + (k.stock > 0 ? count(k.stock) : "unlimited"),
          k.stock > 0 ? pct(k.sold / k.stock) : "–", k.sold_out_at_s != null ? clock(k.sold_out_at_s) : "–", count(k.oversold)];
      })));
    } else if (s.stock > 0) {
      sale.push(count(s.sold) + " sold of " + count(s.stock) + " (" + pct(s.sold / s.stock) + "), " + count(s.stock_left) + " left");
    }
    sale.push("paid " + count(s.paid) + " · released " + count(s.released) + " · oversold " + count(s.oversold));
    section("sale", "Sale", sale);
    document.getElementById("sale").classList.toggle("alarm", s.oversold > 0);

    var rep = document.getElementById("replicas");
    if (s.mode === "sim" || s.replicas > 0 || s.desired_replicas > 0 || (s.scale && s.scale.length)) {
      section("replicas", "Replicas", ["ready " + s.replicas + " / desired " + s.desired_replicas, s.autoscaler ? "autoscaler: " + s.autoscaler : null,
        s.predicted_scale && s.predicted_scale.length ? "predicted at this time: " + predictedAt(s.predicted_scale, s.scenario_s) : null]);
    } else rep.hidden = true;

    var fl = document.getElementById("faults");
    if (s.faults && s.faults.length) {
      section("faults", "Faults", [el("ul", null, s.faults.map(function (f) { return el("li", { cls: f.ok ? "" : "fail", text: f.line }); }))]);
    } else fl.hidden = true;

    var gen = document.getElementById("generators");
    if (s.generators && s.generators.length) {
      section("generators", "Generators", [table("generators-table", ["segment", "state", "windows", "lag", "dropped", "cpu"], s.generators.map(function (g) {
        return [g.segment, g.state + (g.error ? ": " + g.error : ""), count(g.windows), g.lag_s.toFixed(2) + " s", count(g.dropped), g.cpu.toFixed(2)];
      }))]);
    } else gen.hidden = true;

    var pu = document.getElementById("push");
    if (pu && s.push) {
      var pl = s.push.latency_ms || {};
      section("push", "Push feeds", [
        "held " + count(s.push.held) + " (peak " + count(s.push.connections_peak) + ") · connect failures " + count(s.push.connect_failures) +
          " · closed by the server " + count(s.push.server_closes) + " · messages " + count(s.push.messages),
        "push latency p50 " + ms(pl.p50) + " · p90 " + ms(pl.p90) + " · p99 " + ms(pl.p99) + " · max " + ms(pl.max) + " ms; fan-out spread " + ms(s.push.fanout_spread_ms) + " ms",
      ]);
    } else if (pu) pu.hidden = true;

    if (!L.final) gates("Gates (on the run so far)", s.gates || []);

    var wn = document.getElementById("warnings");
    if (s.warnings && s.warnings.length) {
      section("warnings", "Warnings", [el("ul", { cls: "warn" }, s.warnings.map(function (w) { return el("li", { text: w }); }))]);
    } else wn.hidden = true;
  }

  function predictedAt(tr, t) {
    var v = null;
    tr.forEach(function (p) { if (p.t <= t + 1e-9) v = p.desired; });
    return v == null ? "–" : String(v);
  }

  function gates(title, gs) {
    var box = document.getElementById("gates");
    if (!gs.length) { box.hidden = true; return; }
    section("gates", title, [table("gates-table", ["", "gate", "measured"], gs.map(function (g) {
      var v = el("span", { cls: g.error ? "dim" : g.pass ? "pass" : "fail", text: g.verdict });
      return [v, g.expr, g.value];
    }), [1])]);
    box.querySelectorAll("tr").forEach(function (tr, i) {
      if (i > 0) tr.setAttribute("data-pass", gs[i - 1].pass ? "true" : "false");
    });
  }

  function onResult(r) {
    L.final = r;
    var s = r.summary;
    // The finished run's own timeline: every window, the last ones too (snapshots stop at the
    // window before the current one).
    if (s.timeline && s.timeline.length) {
      L.cols = colsFromTimeline(s.timeline);
      var sn = L.snap || {};
      L.charts.draw(chartSpecs({ cols: L.cols, skus: s.skus || sn.skus, scale: s.scale || sn.scale, predScale: sn.predicted_scale, live: true }),
        sn.faults || []);
    }
    gates("Gates", r.gates || []);
    var box = document.getElementById("result");
    box.textContent = "";
    var pass = (r.gates || []).every(function (g) { return g.pass; });
    box.className = pass ? "" : "failed";
    box.appendChild(el("h2", null, ["Result: ", el("span", { cls: pass ? "pass" : "fail", text: r.gates && r.gates.length ? (pass ? "all gates passed" : "gates failed") : "finished" })]));
    box.appendChild(table("result-figures", null, [
      ["requests", count(s.requests.total) + " (" + count(s.requests.ok) + " ok, " + count(s.requests.errors) + " errors, " + count(s.requests.shed) + " shed, " + count(s.requests.dropped) + " dropped)"],
      ["achieved / target rate", compact(s.rate.achieved_avg) + "/s / " + compact(s.rate.target_avg) + "/s"],
      ["latency p50 / p99 / max", ms(s.latency_ms.p50) + " / " + ms(s.latency_ms.p99) + " / " + ms(s.latency_ms.max) + " ms"],
      ["audit", r.audit || ""],
    ].concat(s.push ? [["push feeds", "peak " + count(s.push.connections_peak) + " connections, " + count(s.push.connect_failures) + " failures, " +
      count(s.push.messages) + " messages, latency p99 " + ms((s.push.latency_ms || {}).p99) + " ms, fan-out spread " + ms(s.push.fanout_spread_ms) + " ms"]] : [])
      .concat(s.herd ? [["herd", count(s.herd.watchers) + " watchers, opening at " + clock(s.herd.opened_at_s) + ", " + count(s.herd.purchases_first_s) +
        " purchases in the first second (" + count(s.herd.purchases) + " in all), latency p50 / p99 " + ms((s.herd.latency_ms || {}).p50) + " / " +
        ms((s.herd.latency_ms || {}).p99) + " ms"]] : [])));
    if (r.report) {
      var a = el("a", { id: "report-link", href: r.report + q("client=" + encodeURIComponent(L.client)), target: "_blank", text: "report.html" });
      box.appendChild(el("p", null, ["The full report: ", a, " (the charts of the whole run, the steps, the audit)."]));
      // Keep a copy, so the link still opens after the process (and this server) has ended.
      fetch(r.report + q("client=" + encodeURIComponent(L.client))).then(function (resp) {
        if (!resp.ok) throw new Error("report.html: " + resp.status);
        return resp.blob();
      }).then(function (b) {
        a.href = URL.createObjectURL(new Blob([b], { type: "text/html" }));
        a.setAttribute("data-kept", "true");
      }).catch(function (e) { FL.errors.push(String(e)); });
    }
    box.hidden = false;
    status();
  }

  function start() {
    try {
      var node = document.getElementById("flashload-data");
      var d = node ? JSON.parse(node.textContent) : { mode: "live" };
      if (d.mode === "report") report(d);
      else live();
    } catch (e) {
      FL.errors.push(String(e && e.stack ? e.stack : e));
      throw e;
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
