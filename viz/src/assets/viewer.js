// Quill's history viewer: draws a checked history on one canvas.
//
// The page must stay responsive with 100,000 operations, so nothing here creates a DOM node per
// operation. Operations are laid out once per selection into typed arrays (x extent, lane row); each
// row keeps its operations sorted by position, and a frame draws only what is in view by binary search.
// The data block is described in viz/src/data.rs.
(function () {
  'use strict';

  var startedAt = performance.now();
  function $(id) { return document.getElementById(id); }

  var D = JSON.parse($('quill-data').textContent);
  var parsedAt = performance.now();
  var S = D.strings;
  var OPS = D.ops;
  var N = OPS.call.length;
  var T0 = BigInt(D.t0);

  // Geometry, in CSS pixels.
  var AXIS_H = 30;
  var GUTTER = 112;
  var ROW_H = 34;
  var BOX_H = 26;
  // Labels sit in the upper part of a box and linearization points in the lower part, so that the
  // line joining the points never hides a label.
  var LABEL_DY = 10;
  var POINT_DY = 20;
  var LANE_PAD = 4;
  var GAP = 10;
  // Boxes are made wide enough for labels up to this long; longer ones are cut, and read in full in
  // the details panel. One long value must not stretch the whole axis.
  var MAX_LABEL_CHARS = 40;
  var FONT = '12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
  var SMALL_FONT = '11px system-ui, "DejaVu Sans", sans-serif';

  var COLORS = {
    laneA: '#ffffff', laneB: '#f6f7f9', laneLine: '#eceef1', ink: '#1f2937', muted: '#6b7280',
    opFill: '#dbeafe', opLine: '#3b82f6', failedFill: '#eceef1', failedLine: '#b6bcc6', failedInk: '#9ca3af',
    badFill: '#fecaca', badLine: '#dc2626', ceLine: '#d97706', lin: '#7c3aed', pin: '#111827',
    annFill: 'rgba(245, 158, 11, 0.18)', annLine: '#f59e0b', unplacedFill: '#eef2ff'
  };

  var failed = new Uint8Array(N);
  OPS.failed.forEach(function (i) { failed[i] = 1; });

  // The partition each operation belongs to (the first, if a model put it in several).
  var partOf = new Int32Array(N).fill(-1);
  D.partitions.forEach(function (p, pi) {
    p.ops.forEach(function (i) { if (partOf[i] < 0) partOf[i] = pi; });
  });

  var ceSet = new Uint8Array(N);
  if (D.counterexample) D.counterexample.ops.forEach(function (i) { ceSet[i] = 1; });

  // How an operation reads; the same rule as checker::OpView::label.
  var labelCache = new Array(N);
  function label(i) {
    var cached = labelCache[i];
    if (cached !== undefined) return cached;
    var input = S[OPS.input[i]];
    var out = OPS.output[i];
    var text;
    if (OPS.ret[i] === null) text = input + ' -> ?';
    else if (out !== null && S[out] !== '') text = input + ' -> ' + S[out];
    else text = input;
    labelCache[i] = text;
    return text;
  }
  function labelLength(i) {
    var n = S[OPS.input[i]].length;
    var out = OPS.output[i];
    if (OPS.ret[i] === null) return n + 5;
    if (out !== null && S[out] !== '') return n + 4 + S[out].length;
    return n;
  }
  function absTime(t) { return (T0 + BigInt(t)).toString(); }

  var canvas = $('canvas');
  var ctx = canvas.getContext('2d');
  ctx.font = FONT;
  var CHAR_W = ctx.measureText('MMMMMMMMMM').width / 10;

  // ---------------------------------------------------------------------------------------------
  // Selection and layout.

  var st = {
    pi: -1,            // selected partition, -1 for every operation
    onlyCe: false,
    partial: 0,        // which partial linearization of an illegal partition
    real: false,       // proportional time instead of compressed gaps
    sel: null,         // Int32Array of the operations shown
    // x1 is where a box is drawn to; x1true where the operation may take effect until (they differ only
    // for an operation with no response that its client followed with another, see layout()).
    x0: new Float64Array(N), x1: new Float64Array(N), x1true: new Float64Array(N), open: new Uint8Array(N),
    rowOf: new Int32Array(N),
    rows: [],          // {lane, y, ops: Int32Array sorted by x0}
    lanes: [],         // {lane, y, h, rows: [row indices], anns: [annotation indices]}
    annX0: [], annX1: [], annRowY: [],
    height: 0, width: 0,
    instants: null, instantX: null,
    chainOps: null, chainStates: null, chainX: null, chainPos: new Int32Array(N).fill(-1),
    bad: new Uint8Array(N), blocking: new Uint8Array(N),
    left: 0, scale: 1, top: 0,
    hover: -1, pinned: -1,
    drawn: 0, drawnBad: 0
  };

  function selectedOps() {
    if (st.onlyCe && D.counterexample) return Int32Array.from(D.counterexample.ops);
    if (st.pi >= 0) return Int32Array.from(D.partitions[st.pi].ops);
    var all = new Int32Array(N);
    for (var i = 0; i < N; i++) all[i] = i;
    return all;
  }

  // The steps drawn for partition pi: its linearization, or the chosen longest linearizable prefix.
  function chainOf(pi, which) {
    var p = D.partitions[pi];
    if (!p) return [];
    if (p.verdict === 'ok') return p.lin || [];
    if (p.verdict === 'illegal' && p.partial && p.partial.length) {
      return p.partial[Math.min(which, p.partial.length - 1)].steps;
    }
    return [];
  }

  function lowerBound(arr, v) {
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function layout() {
    var sel = st.sel = selectedOps();
    var anns = D.annotations;

    // Every instant that matters, sorted and distinct.
    var count = 0, k, i;
    for (k = 0; k < sel.length; k++) count += OPS.ret[sel[k]] === null ? 1 : 2;
    var raw = new Float64Array(count + anns.length * 2);
    var c = 0;
    for (k = 0; k < sel.length; k++) {
      i = sel[k];
      raw[c++] = OPS.call[i];
      if (OPS.ret[i] !== null) raw[c++] = OPS.ret[i];
    }
    anns.forEach(function (a) { raw[c++] = a.start; raw[c++] = a.end; });
    raw.sort();
    var m = 0;
    for (k = 0; k < raw.length; k++) if (k === 0 || raw[k] !== raw[k - 1]) raw[m++] = raw[k];
    var T = raw.subarray(0, m);
    var X = new Float64Array(m);
    var right;

    if (!st.real) {
      // Compressed: the same rule as viz/src/layout.rs. Each box must fit its label, so an instant
      // sits at least that far right of the call it ends; constraints only point forward, so one pass
      // in instant order finds the narrowest layout. Constraints are bucketed by their end instant.
      var items = sel.length + anns.length;
      var endIdx = new Int32Array(items), startIdx = new Int32Array(items), need = new Float64Array(items);
      var bucket = new Int32Array(m + 1);
      for (k = 0; k < sel.length; k++) {
        i = sel[k];
        startIdx[k] = lowerBound(T, OPS.call[i]);
        endIdx[k] = OPS.ret[i] === null ? -1 : lowerBound(T, OPS.ret[i]);
        need[k] = Math.min(labelLength(i), MAX_LABEL_CHARS) * CHAR_W + 14;
      }
      // An operation with no response has no end, but if its client went on to call another, that call
      // must leave room for its label (see the rows below).
      var byCall = Int32Array.from(sel.keys()).sort(function (a, b) { return OPS.call[sel[a]] - OPS.call[sel[b]]; });
      var openOf = new Map();
      for (k = 0; k < byCall.length; k++) {
        var pos = byCall[k], lane = OPS.lane[sel[pos]];
        var prior = openOf.get(lane);
        if (prior !== undefined && OPS.call[sel[pos]] > OPS.call[sel[prior]]) {
          endIdx[prior] = lowerBound(T, OPS.call[sel[pos]]);
          openOf.delete(lane);
        }
        if (OPS.ret[sel[pos]] === null) openOf.set(lane, pos);
      }
      anns.forEach(function (a, j) {
        startIdx[sel.length + j] = lowerBound(T, a.start);
        endIdx[sel.length + j] = lowerBound(T, a.end);
        need[sel.length + j] = Math.min(a.text.length * CHAR_W + 14, 220);
      });
      for (k = 0; k < items; k++) if (endIdx[k] >= 0) bucket[endIdx[k] + 1]++;
      for (k = 0; k < m; k++) bucket[k + 1] += bucket[k];
      var order = new Int32Array(bucket[m]);
      var fill = bucket.slice(0, m);
      for (k = 0; k < items; k++) if (endIdx[k] >= 0) order[fill[endIdx[k]]++] = k;
      for (var t = 0; t < m; t++) {
        var x = t === 0 ? 0 : X[t - 1] + GAP;
        for (var b = bucket[t]; b < bucket[t + 1]; b++) {
          var it = order[b];
          var candidate = X[startIdx[it]] + need[it];
          if (candidate > x) x = candidate;
        }
        X[t] = x;
      }
      right = m ? X[m - 1] : 0;
      for (k = 0; k < sel.length; k++) {
        if (OPS.ret[sel[k]] === null) right = Math.max(right, X[startIdx[k]] + need[k] + 4 * GAP);
      }
    } else {
      var base = m ? T[0] : 0;
      for (k = 0; k < m; k++) X[k] = T[k] - base;
      var span = m ? X[m - 1] : 0;
      right = span + Math.max(span * 0.04, 1);
    }
    st.instants = T;
    st.instantX = X;
    st.width = right;
    function xOf(time) { return X[lowerBound(T, time)]; }

    for (k = 0; k < sel.length; k++) {
      i = sel[k];
      st.x0[i] = xOf(OPS.call[i]);
      if (OPS.ret[i] === null) { st.x1[i] = right; st.open[i] = 1; }
      else { st.x1[i] = xOf(OPS.ret[i]); st.open[i] = 0; }
      st.x1true[i] = st.x1[i];
    }
    st.annX0 = anns.map(function (a) { return xOf(a.start); });
    st.annX1 = anns.map(function (a) { return xOf(a.end); });

    // Lanes: tag lanes with annotations, client lanes with shown operations or annotations. Within a
    // lane, operations that overlap (a client with a request outstanding forever, say) get rows of
    // their own, so that each row is sorted by both ends and can be searched.
    var byLane = D.lanes.map(function () { return []; });
    for (k = 0; k < sel.length; k++) byLane[OPS.lane[sel[k]]].push(sel[k]);
    var annsByLane = D.lanes.map(function () { return []; });
    anns.forEach(function (a, j) { annsByLane[a.lane].push(j); });

    st.rows = [];
    st.lanes = [];
    var y = 0;
    D.lanes.forEach(function (lane, li) {
      var ops = byLane[li], annIdx = annsByLane[li];
      if (!ops.length && !annIdx.length) return;
      ops.sort(function (a, b) { return st.x0[a] - st.x0[b] || st.x1[a] - st.x1[b]; });
      var ends = [], rowsOps = [];
      ops.forEach(function (op) {
        var r = 0;
        while (r < ends.length && ends[r] > st.x0[op]) r++;
        if (r === ends.length) { ends.push(0); rowsOps.push([]); }
        // An operation with no response runs to the right edge. If its client went on to issue more
        // (the history allows it), giving it a row to itself would take one row per such operation, so
        // it occupies only its label's room and fades out where the client's next operation starts.
        ends[r] = st.open[op] ? st.x0[op] + (st.real ? 0 : Math.min(labelLength(op), MAX_LABEL_CHARS) * CHAR_W + 14) : st.x1[op];
        rowsOps[r].push(op);
      });
      rowsOps.forEach(function (list) {
        for (var k = 0; k + 1 < list.length; k++) {
          if (st.open[list[k]]) st.x1[list[k]] = Math.max(st.x0[list[k]], st.x0[list[k + 1]]);
        }
      });
      var entry = { lane: li, y: y, h: 0, rows: [], anns: [] };
      y += LANE_PAD;
      rowsOps.forEach(function (list) {
        var ri = st.rows.length;
        st.rows.push({ lane: li, y: y, ops: Int32Array.from(list) });
        list.forEach(function (op) { st.rowOf[op] = ri; });
        entry.rows.push(ri);
        y += ROW_H;
      });
      // Annotations go in rows below the lane's operations, also without overlaps.
      var annEnds = [];
      annIdx.sort(function (a, b) { return st.annX0[a] - st.annX0[b]; }).forEach(function (j) {
        var r = 0;
        while (r < annEnds.length && annEnds[r] > st.annX0[j]) r++;
        if (r === annEnds.length) annEnds.push(0);
        annEnds[r] = Math.max(st.annX1[j], st.annX0[j] + 4);
        st.annRowY[j] = y + r * ROW_H;
        entry.anns.push(j);
      });
      y += annEnds.length * ROW_H + LANE_PAD;
      entry.h = y - entry.y;
      st.lanes.push(entry);
    });
    st.height = y;

    buildChain();
  }

  // The (partial) linearization drawn for the selection, with a point inside each placed box.
  function buildChain() {
    st.chainPos.fill(-1);
    st.bad.fill(0);
    st.blocking.fill(0);
    var steps = [];
    if (st.pi >= 0 && !st.onlyCe) steps = chainOf(st.pi, st.partial);
    var shown = new Uint8Array(N);
    for (var k = 0; k < st.sel.length; k++) shown[st.sel[k]] = 1;
    var ops = [], states = [];
    for (var s = 0; s + 1 < steps.length; s += 2) {
      if (shown[steps[s]]) { ops.push(steps[s]); states.push(steps[s + 1]); }
    }
    var n = ops.length;
    // The same placement as viz/src/layout.rs: the middle of the room each step has between the
    // earliest point the steps before allow and the latest point the steps after allow.
    var latest = new Float64Array(n), xs = new Float64Array(n);
    var bound = Infinity;
    for (var i = n - 1; i >= 0; i--) { bound = Math.min(bound, st.x1true[ops[i]]); latest[i] = bound; }
    var earliest = -Infinity, prev = -Infinity;
    for (i = 0; i < n; i++) {
      var op = ops[i];
      earliest = Math.max(earliest, st.x0[op]);
      var hi = Math.max(latest[i], earliest);
      var x = Math.min(Math.max(prev, (earliest + hi) / 2), Math.max(st.x1true[op], st.x0[op]));
      xs[i] = x;
      prev = x;
      st.chainPos[op] = i;
    }
    st.chainOps = Int32Array.from(ops);
    st.chainStates = Int32Array.from(states);
    st.chainX = xs;

    // Operations that could not be placed: of the selected illegal partition, or of every illegal one.
    function mark(p, which) {
      var pl = p.partial && p.partial[Math.min(which, p.partial.length - 1)];
      if (!pl) return;
      pl.stuck.forEach(function (i) { st.bad[i] = 1; });
      if (pl.blocking !== null && pl.blocking !== undefined) { st.bad[pl.blocking] = 1; st.blocking[pl.blocking] = 1; }
    }
    if (st.pi >= 0) { if (D.partitions[st.pi].verdict === 'illegal') mark(D.partitions[st.pi], st.partial); }
    else D.partitions.forEach(function (p) { if (p.verdict === 'illegal') mark(p, 0); });
  }

  // ---------------------------------------------------------------------------------------------
  // View: world x (layout units) to screen x is left + scale.

  var cssW = 0, cssH = 0;
  function resize() {
    var stage = $('stage');
    cssW = stage.clientWidth;
    cssH = stage.clientHeight;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(cssW * dpr));
    canvas.height = Math.max(1, Math.round(cssH * dpr));
    canvas.style.width = cssW + 'px';
    canvas.style.height = cssH + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  function plotW() { return Math.max(10, cssW - GUTTER - 16); }
  function sx(wx) { return GUTTER + (wx - st.left) * st.scale; }
  function wxAt(px) { return st.left + (px - GUTTER) / st.scale; }
  function clampTop() {
    var max = Math.max(0, st.height - (cssH - AXIS_H) + 8);
    st.top = Math.min(Math.max(0, st.top), max);
  }
  function fit() {
    var w = Math.max(st.width, 1e-9);
    st.scale = plotW() / w;
    // A compressed layout is already sized for its labels: do not blow a small history up.
    if (!st.real) st.scale = Math.min(st.scale, 1);
    st.left = 0;
    st.top = 0;
  }
  function zoomAt(factor, px) {
    var anchor = wxAt(px);
    var minScale = plotW() / Math.max(st.width, 1e-9) / 4;
    var maxScale = st.real ? 1e6 * (plotW() / Math.max(st.width, 1e-9)) : 40;
    st.scale = Math.min(Math.max(st.scale * factor, minScale), maxScale);
    st.left = anchor - (px - GUTTER) / st.scale;
  }

  // ---------------------------------------------------------------------------------------------
  // Drawing.

  var frame = 0;
  function requestDraw() { if (!frame) frame = requestAnimationFrame(function () { frame = 0; draw(); }); }

  function roundRect(x, y, w, h, r) {
    r = Math.min(r, w / 2, h / 2);
    ctx.beginPath();
    ctx.moveTo(x + r, y);
    ctx.arcTo(x + w, y, x + w, y + h, r);
    ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r);
    ctx.arcTo(x, y, x + w, y, r);
    ctx.closePath();
  }

  // Cuts text to fit `room` pixels. Long labels are cut in the middle: the end of a value (where an
  // appended log differs) matters as much as its start.
  function fitText(text, room) {
    var chars = Math.floor(room / CHAR_W);
    if (chars <= 0) return '';
    if (text.length <= chars) return text;
    // Two letters and an ellipsis say nothing; an empty box is clearer.
    if (chars < 5) return '';
    if (chars < 16) return text.slice(0, chars - 1) + '\u2026';
    var head = Math.floor((chars - 1) / 2);
    return text.slice(0, head) + '\u2026' + text.slice(text.length - (chars - 1 - head));
  }

  function draw() {
    var t = performance.now();
    ctx.clearRect(0, 0, cssW, cssH);
    var top = AXIS_H - st.top;
    var viewL = wxAt(GUTTER), viewR = wxAt(cssW);
    var visTop = st.top, visBottom = st.top + cssH - AXIS_H;

    // Lane backgrounds.
    st.lanes.forEach(function (lane, n) {
      if (lane.y + lane.h < visTop || lane.y > visBottom) return;
      ctx.fillStyle = n % 2 ? COLORS.laneB : COLORS.laneA;
      ctx.fillRect(0, top + lane.y, cssW, lane.h);
      ctx.fillStyle = COLORS.laneLine;
      ctx.fillRect(0, top + lane.y + lane.h - 1, cssW, 1);
    });

    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, AXIS_H, cssW - GUTTER, cssH - AXIS_H);
    ctx.clip();
    ctx.font = FONT;
    ctx.textBaseline = 'middle';

    // Annotations (faults): amber bands with their text.
    D.annotations.forEach(function (a, j) {
      var y = st.annRowY[j];
      if (y === undefined || y + ROW_H < visTop || y > visBottom) return;
      if (st.annX1[j] < viewL || st.annX0[j] > viewR) return;
      var x0 = sx(st.annX0[j]), w = Math.max(3, sx(st.annX1[j]) - x0);
      var by = top + y + (ROW_H - BOX_H) / 2;
      ctx.fillStyle = COLORS.annFill;
      ctx.fillRect(x0, by, w, BOX_H);
      ctx.fillStyle = COLORS.annLine;
      ctx.fillRect(x0, by, 2, BOX_H);
      if (w > 24) { ctx.fillStyle = '#92400e'; ctx.fillText(fitText(a.text, w - 10), x0 + 6, by + BOX_H / 2); }
    });

    // Operations: per row, binary search for the first box that ends in view.
    var drawn = 0, drawnBad = 0;
    var labels = [], failedBoxes = [];
    for (var r = 0; r < st.rows.length; r++) {
      var row = st.rows[r];
      if (row.y + ROW_H < visTop || row.y > visBottom) continue;
      var ops = row.ops;
      var lo = 0, hi = ops.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (st.x1[ops[mid]] < viewL) lo = mid + 1; else hi = mid; }
      var by = top + row.y + (ROW_H - BOX_H) / 2;
      var lastPx = -Infinity;
      for (var k = lo; k < ops.length; k++) {
        var i = ops[k];
        if (st.x0[i] > viewR) break;
        drawn++;
        var x0 = sx(st.x0[i]), x1 = sx(st.x1[i]);
        var w = Math.max(1, x1 - x0);
        var bad = st.bad[i];
        if (bad) drawnBad++;
        // Boxes thinner than a pixel that land on the pixel just drawn add nothing to the picture.
        if (w < 1.5 && !bad && Math.floor(x0) === lastPx && i !== st.pinned && i !== st.hover) continue;
        lastPx = Math.floor(x0);
        // Failed operations took no part in the check: they are drawn over the prefix line, so that the
        // line never seems to pass through them.
        if (failed[i]) failedBoxes.push(i, x0, by, w);
        else drawBox(i, x0, by, w, bad);
        // A box that starts left of the view keeps its label in view (it may be a long open one).
        var lx = Math.max(x0, GUTTER + 2), lw = x0 + w - lx;
        if (lw > 22) labels.push(i, lx, by, lw);
      }
    }
    st.drawn = drawn;
    st.drawnBad = drawnBad;

    drawChain(top, viewL, viewR, false);
    for (var f = 0; f < failedBoxes.length; f += 4) {
      drawBox(failedBoxes[f], failedBoxes[f + 1], failedBoxes[f + 2], failedBoxes[f + 3], 0);
    }
    // Labels go over the line, with a halo in their box's colour.
    ctx.lineJoin = 'round';
    for (var l = 0; l < labels.length; l += 4) {
      var li = labels[l], lx = labels[l + 1], ly = labels[l + 2] + LABEL_DY, lw = labels[l + 3];
      var text = fitText(label(li), lw - 10);
      ctx.lineWidth = 3;
      ctx.strokeStyle = st.bad[li] ? COLORS.badFill : failed[li] ? COLORS.failedFill : COLORS.opFill;
      ctx.strokeText(text, lx + 6, ly);
      ctx.fillStyle = failed[li] ? COLORS.failedInk : COLORS.ink;
      ctx.fillText(text, lx + 6, ly);
    }
    drawChain(top, viewL, viewR, true);
    drawErrorFlag(top);
    ctx.restore();

    drawGutter(top);
    drawAxis();
    st.lastDrawMs = performance.now() - t;
  }

  function drawBox(i, x0, by, w, bad) {
    var open = st.open[i], isFailed = failed[i];
    var fillStyle = bad ? COLORS.badFill : isFailed ? COLORS.failedFill : COLORS.opFill;
    var line = bad ? COLORS.badLine : isFailed ? COLORS.failedLine : COLORS.opLine;
    if (st.pi >= 0 && !bad && !isFailed && st.chainOps.length && st.chainPos[i] < 0 &&
        D.partitions[st.pi].verdict === 'ok') {
      fillStyle = COLORS.unplacedFill; // left out of the linearization: it took no effect
    }
    if (w < 3) {
      ctx.fillStyle = line;
      ctx.fillRect(x0, by, w, BOX_H);
      return;
    }
    if (open) {
      // No response: the box fades out towards the right edge instead of ending.
      var g = ctx.createLinearGradient(x0, 0, x0 + w, 0);
      g.addColorStop(0, fillStyle);
      g.addColorStop(1, 'rgba(255,255,255,0)');
      ctx.fillStyle = g;
      ctx.fillRect(x0, by, w, BOX_H);
      var gl = ctx.createLinearGradient(x0, 0, x0 + w, 0);
      gl.addColorStop(0, line);
      gl.addColorStop(1, 'rgba(255,255,255,0)');
      ctx.fillStyle = gl;
      ctx.fillRect(x0, by, w, 1);
      ctx.fillRect(x0, by + BOX_H - 1, w, 1);
      ctx.fillStyle = line;
      ctx.fillRect(x0, by, 1, BOX_H);
    } else {
      roundRect(x0, by, w, BOX_H, 4);
      ctx.fillStyle = fillStyle;
      ctx.fill();
      ctx.lineWidth = st.blocking[i] ? 2.5 : bad ? 2 : 1;
      ctx.strokeStyle = line;
      ctx.stroke();
    }
    if (ceSet[i] && !st.onlyCe) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = COLORS.ceLine;
      roundRect(x0 - 3, by - 3, w + 6, BOX_H + 6, 6);
      ctx.stroke();
    }
    if (i === st.pinned || i === st.hover) {
      ctx.lineWidth = i === st.pinned ? 2 : 1.5;
      ctx.strokeStyle = COLORS.pin;
      roundRect(x0 - 1, by - 1, w + 2, BOX_H + 2, 5);
      ctx.stroke();
    }
  }

  function pointY(top, op) { var row = st.rows[st.rowOf[op]]; return top + row.y + (ROW_H - BOX_H) / 2 + POINT_DY; }

  // The chain's line (under the labels) or its points (over them).
  function drawChain(top, viewL, viewR, points) {
    var xs = st.chainX, ops = st.chainOps, n = ops.length;
    if (!n) return;
    // Points never decrease, so the visible ones are found by binary search.
    var first = Math.max(0, lowerBound(xs, viewL) - 1);
    var last = Math.min(n - 1, lowerBound(xs, viewR));
    if (points) return drawPoints(top, first, last);
    ctx.lineWidth = 2;
    ctx.strokeStyle = 'rgba(124, 58, 237, 0.8)';
    ctx.beginPath();
    for (var k = first; k <= last; k++) {
      var x = sx(xs[k]), y = pointY(top, ops[k]);
      if (k === first) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }

  function drawPoints(top, first, last) {
    var xs = st.chainX, ops = st.chainOps, k;
    var spacing = (sx(xs[last]) - sx(xs[first])) / Math.max(1, last - first);
    if (spacing < 3 && last - first > 50) return;
    for (k = first; k <= last; k++) {
      ctx.beginPath();
      ctx.arc(sx(xs[k]), pointY(top, ops[k]), 3.5, 0, Math.PI * 2);
      ctx.fillStyle = COLORS.lin;
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#fff';
      ctx.stroke();
    }
  }

  // A red line where the search got stuck: the return of the operation that forced it back.
  function errorPoint() {
    if (st.pi < 0 || st.onlyCe) return null;
    var p = D.partitions[st.pi];
    if (p.verdict !== 'illegal' || !p.partial || !p.partial.length) return null;
    var pl = p.partial[Math.min(st.partial, p.partial.length - 1)];
    if (pl.blocking === null || pl.blocking === undefined) return null;
    return pl;
  }
  function drawErrorFlag(top) {
    var pl = errorPoint();
    if (!pl) return;
    var b = pl.blocking;
    var x = sx(st.open[b] ? st.x0[b] : st.x1[b]);
    if (x < GUTTER || x > cssW) return;
    ctx.strokeStyle = 'rgba(220, 38, 38, 0.55)';
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(x, AXIS_H);
    ctx.lineTo(x, Math.min(cssH, top + st.height));
    ctx.stroke();
    ctx.setLineDash([]);
  }

  function drawGutter(top) {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, GUTTER, cssH);
    ctx.font = SMALL_FONT;
    ctx.textBaseline = 'middle';
    st.lanes.forEach(function (lane, n) {
      if (lane.y + lane.h < st.top || lane.y > st.top + cssH) return;
      ctx.fillStyle = n % 2 ? COLORS.laneB : COLORS.laneA;
      ctx.fillRect(0, top + lane.y, GUTTER, lane.h);
      var meta = D.lanes[lane.lane];
      ctx.fillStyle = meta.kind === 'tag' ? '#92400e' : COLORS.ink;
      var text = meta.kind === 'tag' ? meta.name : 'client ' + meta.name;
      ctx.fillText(fitText(text, GUTTER - 16), 10, top + lane.y + Math.min(lane.h, ROW_H + LANE_PAD) / 2 + 2);
    });
    ctx.fillStyle = COLORS.laneLine;
    ctx.fillRect(GUTTER - 1, 0, 1, cssH);
  }

  // Time units: the history's own (D.unit), and the one ticks are labelled in, chosen from the range in
  // view so that labels stay short ("1.25 ms" rather than "1250000 ns").
  var UNIT_NS = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
  var unitNs = D.unit && UNIT_NS[D.unit] ? UNIT_NS[D.unit] : 0;
  function tickUnit(span) {
    var ns = span * unitNs;
    if (ns >= 1e10) return 's';
    if (ns >= 1e7) return 'ms';
    if (ns >= 1e4) return 'us';
    return 'ns';
  }
  function formatTime(t, unit) {
    if (unit) {
      var v = t * unitNs / UNIT_NS[unit];
      var digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
      return String(Number(v.toFixed(digits))) + ' ' + (unit === 'us' ? '\u00b5s' : unit);
    }
    var a = Math.abs(t);
    if (a >= 1e15) return t.toExponential(3);
    return String(Math.round(t));
  }

  function drawAxis() {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, cssW, AXIS_H);
    ctx.fillStyle = COLORS.laneLine;
    ctx.fillRect(0, AXIS_H - 1, cssW, 1);
    ctx.font = SMALL_FONT;
    ctx.textBaseline = 'middle';
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(st.real ? 'time' : 'time (gaps cut)', 10, AXIS_H / 2);
    var T = st.instants, X = st.instantX;
    if (!T || !T.length) return;
    var ticks = [];
    if (st.real) {
      var rawStep = 110 / st.scale, mag = Math.pow(10, Math.floor(Math.log10(rawStep)));
      var step = [1, 2, 5, 10].map(function (f) { return f * mag; }).find(function (s) { return s >= rawStep; });
      var base = T[0];
      for (var v = Math.ceil(wxAt(GUTTER) / step) * step; v <= wxAt(cssW); v += step) ticks.push([v, v + base]);
    } else {
      // Compressed: ticks at real instants, as many as fit.
      var k = Math.max(0, lowerBound(X, wxAt(GUTTER)));
      var lastPx = -Infinity;
      for (; k < X.length && X[k] <= wxAt(cssW); k++) {
        var px = sx(X[k]);
        if (px - lastPx >= 90) { ticks.push([X[k], T[k]]); lastPx = px; }
      }
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, 0, cssW - GUTTER, AXIS_H);
    ctx.clip();
    // The "stuck" marker first, so that no tick label is drawn over it.
    var stuckBox = null;
    var pl = errorPoint();
    if (pl) {
      var b = pl.blocking, ex = sx(st.open[b] ? st.x0[b] : st.x1[b]);
      if (ex >= GUTTER && ex <= cssW) {
        ctx.fillStyle = COLORS.badLine;
        ctx.beginPath();
        ctx.moveTo(ex - 6, AXIS_H - 12); ctx.lineTo(ex + 6, AXIS_H - 12); ctx.lineTo(ex, AXIS_H - 2);
        ctx.closePath();
        ctx.fill();
        ctx.font = 'bold ' + SMALL_FONT;
        var tw = ctx.measureText('stuck').width;
        ctx.fillStyle = '#fff';
        ctx.fillRect(ex + 6, 2, tw + 6, AXIS_H - 8);
        ctx.fillStyle = COLORS.badLine;
        ctx.fillText('stuck', ex + 8, AXIS_H / 2 - 2);
        ctx.font = SMALL_FONT;
        stuckBox = { left: ex - 6, right: ex + 12 + tw };
      }
    }
    var unit = null;
    if (unitNs && ticks.length) {
      var span = ticks.length > 1 ? ticks[ticks.length - 1][1] - ticks[0][1] : Math.abs(ticks[0][1]);
      unit = tickUnit(Math.max(span, Math.abs(ticks[ticks.length - 1][1]) / 10));
    }
    st.ticks = [];
    ticks.forEach(function (tick) {
      var x = sx(tick[0]);
      var text = formatTime(tick[1], unit);
      var box = { left: x, right: x + 3 + ctx.measureText(text).width, text: text };
      if (stuckBox && box.right + 4 > stuckBox.left && box.left - 4 < stuckBox.right) return;
      ctx.fillStyle = '#c7ccd4';
      ctx.fillRect(Math.round(x), AXIS_H - 7, 1, 6);
      ctx.fillStyle = COLORS.muted;
      ctx.fillText(text, x + 3, AXIS_H / 2 - 2);
      st.ticks.push(box);
    });
    st.stuckBox = stuckBox;
    ctx.restore();
  }

  // ---------------------------------------------------------------------------------------------
  // Hit testing and details.

  function opAt(px, py) {
    if (px < GUTTER || py < AXIS_H) return -1;
    var y = py - AXIS_H + st.top;
    var wx = wxAt(px), slack = 3 / st.scale;
    for (var r = 0; r < st.rows.length; r++) {
      var row = st.rows[r];
      var by = row.y + (ROW_H - BOX_H) / 2;
      if (y < by || y > by + BOX_H) continue;
      var ops = row.ops, lo = 0, hi = ops.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (st.x1[ops[mid]] < wx - slack) lo = mid + 1; else hi = mid; }
      if (lo < ops.length && st.x0[ops[lo]] <= wx + slack) return ops[lo];
    }
    return -1;
  }

  // The state before and after operation i along the drawn chain, or its own partition's.
  function statesAround(i) {
    var pi = st.pi >= 0 && !st.onlyCe ? st.pi : partOf[i];
    var p = D.partitions[pi];
    if (!p) return null;
    var steps, pos = -1, k;
    if (pi === st.pi && !st.onlyCe) {
      steps = chainOf(pi, st.partial);
    } else {
      steps = chainOf(pi, 0);
    }
    for (k = 0; k + 1 < steps.length; k += 2) if (steps[k] === i) { pos = k / 2; break; }
    var total = steps.length / 2;
    if (pos < 0) return { partition: p, step: null, total: total, before: null, after: null };
    var before = pos === 0 ? S[p.initial] : S[steps[2 * pos - 1]];
    return { partition: p, step: pos + 1, total: total, before: before, after: S[steps[2 * pos + 1]] };
  }

  function details(i) {
    if (i < 0) return null;
    var around = statesAround(i);
    var ret = OPS.ret[i];
    var out = OPS.output[i];
    var p = around ? around.partition : null;
    var pl = null;
    if (p && p.verdict === 'illegal' && p.partial && p.partial.length) {
      pl = p.partial[p === D.partitions[st.pi] ? Math.min(st.partial, p.partial.length - 1) : 0];
    }
    return {
      index: i,
      label: label(i),
      client: D.lanes[OPS.lane[i]].name,
      input: S[OPS.input[i]],
      output: out === null ? null : S[out],
      call: absTime(OPS.call[i]),
      'return': ret === null ? null : absTime(ret),
      duration: ret === null ? null : ret - OPS.call[i],
      failed: !!failed[i],
      partition: p ? p.label : null,
      verdict: p ? p.verdict : null,
      step: around ? around.step : null,
      steps: around ? around.total : 0,
      stateBefore: around ? around.before : null,
      stateAfter: around ? around.after : null,
      // For an operation that could not be placed: the state it did not fit.
      stateAtError: pl && (pl.stuck.indexOf(i) >= 0 || pl.blocking === i)
        ? (pl.steps.length ? S[pl.steps[pl.steps.length - 1]] : S[p.initial]) : null,
      stuck: !!(pl && pl.stuck.indexOf(i) >= 0),
      blocking: !!(pl && pl.blocking === i),
      counterexample: !!ceSet[i],
      pinned: st.pinned === i
    };
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function showDetails() {
    var i = st.pinned >= 0 ? st.pinned : st.hover;
    var box = $('details');
    var d = details(i);
    if (!d) {
      box.innerHTML = '<p class="muted">Hover over an operation for its details; click to pin them.</p>';
      return;
    }
    var badges = '';
    if (d.pinned) badges += '<span class="badge pin">pinned</span>';
    if (d.blocking) badges += '<span class="badge bad">forced the search back</span>';
    else if (d.stuck) badges += '<span class="badge bad">cannot be placed next</span>';
    if (d.counterexample) badges += '<span class="badge bad">in the counterexample</span>';
    if (d.failed) badges += '<span class="badge">failed: no effect</span>';
    if (d['return'] === null) badges += '<span class="badge">no response</span>';
    var where;
    if (d.step !== null) where = 'step ' + d.step + ' of ' + d.steps;
    else if (d.verdict === 'illegal') where = 'not in the linearizable prefix';
    else if (d.verdict === 'ok') where = 'left out: it took no effect';
    else where = 'undecided';
    var rows = [
      ['operation', '#' + d.index], ['client', d.client], ['input', d.input],
      ['output', d.output === null ? '\u2014' : d.output === '' ? '(empty)' : d.output],
      ['call', d.call], ['return', d['return'] === null ? 'never' : d['return']],
      ['duration', d.duration === null ? '\u2014' : d.duration], ['partition', d.partition === null ? '\u2014' : d.partition],
      ['linearized', where]
    ];
    var html = '<div class="title">' + esc(d.label) + '</div><div>' + badges + '</div><dl>';
    rows.forEach(function (r) { html += '<dt>' + r[0] + '</dt><dd>' + esc(r[1]) + '</dd>'; });
    if (d.step !== null) {
      html += '<dt>state before</dt><dd class="state">' + esc(d.stateBefore) + '</dd>';
      html += '<dt>state after</dt><dd class="state">' + esc(d.stateAfter) + '</dd>';
    }
    if (d.stateAtError !== null) {
      html += '<dt>state after the prefix</dt><dd class="state">' + esc(d.stateAtError) + '</dd>';
    }
    html += '</dl>';
    if (d.stuck || d.blocking) {
      html += '<p class="muted">After the linearizable prefix, no operation could come next: ' +
        (d.blocking ? 'this one had to (it returned before anything else could be placed), and its output does not fit the state.'
          : 'this one was a candidate, and its output does not fit the state either.') + '</p>';
    }
    box.innerHTML = html;
  }

  // ---------------------------------------------------------------------------------------------
  // Side panel, toolbar and interaction.

  function verdictText(v) { return v === 'ok' ? 'linearizable' : v === 'illegal' ? 'not linearizable' : 'unknown'; }

  function renderHeader() {
    var v = $('verdict');
    v.textContent = verdictText(D.verdict);
    v.className = 'verdict ' + D.verdict;
    var decided = D.partitions.filter(function (p) { return p.verdict !== 'unknown'; }).length;
    $('summary').textContent = D.model + ' \u00b7 ' + N.toLocaleString('en-US') + ' operations \u00b7 ' +
      D.partitions.length + ' partition' + (D.partitions.length === 1 ? '' : 's') + ' (' + decided + ' decided) \u00b7 checked in ' +
      (D.micros / 1000).toFixed(1) + ' ms';
  }

  function renderStatus() {
    var P = D.partitions;
    var illegal = P.filter(function (p) { return p.verdict === 'illegal'; });
    var ok = P.filter(function (p) { return p.verdict === 'ok'; });
    var unknown = P.filter(function (p) { return p.verdict === 'unknown'; });
    var html = '';
    if (illegal.length) {
      var p = illegal[0], pl = p.partial && p.partial[0];
      html += '<p><b>' + illegal.length + ' of ' + P.length + ' partition' + (P.length === 1 ? '' : 's') +
        ' not linearizable.</b></p>';
      if (pl) {
        html += '<p class="why">In <b>' + esc(p.label) + '</b>, the longest linearizable prefix places ' +
          (pl.steps.length / 2) + ' of ' + p.ops.length + ' operations; after it, none of the ' +
          (pl.stuck.length || 1) + ' that could come next fits the model (red).</p>';
      }
    } else if (!unknown.length) {
      html += '<p><b>Linearizable.</b></p><p class="why">Every partition has a linearization; select one to see it.</p>';
    }
    if (unknown.length) {
      var timeout = unknown.filter(function (p) { return p.undecided === 'timeout'; }).length;
      var cancelled = unknown.length - timeout;
      html += '<p><b>Decided ' + (P.length - unknown.length) + ' of ' + P.length + ' partitions</b> (' + ok.length +
        ' linearizable, ' + illegal.length + ' not).</p>';
      // Name a few of them, so the reader knows which to look at.
      var some = function (why) {
        var names = unknown.filter(function (p) { return (p.undecided === 'timeout') === (why === 'timeout'); })
          .map(function (p) { return p.label; });
        var shown = names.slice(0, 5).map(esc).join(', ');
        return ' (' + shown + (names.length > 5 ? ', \u2026' : '') + ')';
      };
      if (timeout) html += '<p class="why">' + timeout + ' timed out' + some('timeout') + ': the time limit passed before their search finished.</p>';
      if (cancelled) {
        html += '<p class="why">' + cancelled + ' cancelled' + some('cancelled') + ': ' + (illegal.length
          ? 'the check stopped once a partition was found not linearizable.'
          : 'the check was cancelled before their search finished.') + '</p>';
      }
    }
    if (D.warnings && D.warnings.length) {
      html += '<div class="warnings">' + D.warnings.map(esc).join('<br>') + '</div>';
    }
    $('status').innerHTML = html;

    if (D.counterexample) {
      $('counterexample').hidden = false;
      // The story is an account in lines, nested by leading spaces; `#12` names operation 12, and is a
      // link that shows and pins it.
      $('story').innerHTML = D.counterexample.story.map(function (line) {
        var indent = line.length - line.replace(/^\s+/, '').length;
        // Links are made before escaping (an escaped apostrophe, &#39;, is no operation 39).
        var text = line.trim().split(/(#\d+)/).map(function (part) {
          var m = /^#(\d+)$/.exec(part);
          return m && Number(m[1]) < N ? '<a href="#" data-op="' + m[1] + '">' + part + '</a>' : esc(part);
        }).join('');
        return '<div style="padding-left:' + (indent * 0.5) + 'em">' + text + '</div>';
      }).join('');
    }
  }

  var LIST_LIMIT = 400;
  function renderPartitions() {
    var filter = $('partition-filter').value.toLowerCase();
    var list = $('partitions');
    var items = [];
    if (D.partitions.length > 1 && !filter) items.push({ pi: -1, label: 'all operations', verdict: 'all', count: N });
    var matched = 0;
    for (var pi = 0; pi < D.partitions.length; pi++) {
      var p = D.partitions[pi];
      if (filter && p.label.toLowerCase().indexOf(filter) < 0) continue;
      matched++;
      if (items.length < LIST_LIMIT) items.push({ pi: pi, label: p.label, verdict: p.verdict, count: p.ops.length });
    }
    list.innerHTML = items.map(function (it) {
      // Undecided partitions say why: timeout or cancelled.
      var reason = it.verdict === 'unknown' ? D.partitions[it.pi].undecided || 'undecided' : '';
      var title = it.verdict === 'all' ? 'every operation' : verdictText(it.verdict) + (reason ? ' (' + reason + ')' : '');
      return '<li data-pi="' + it.pi + '" class="' + (it.pi === st.pi && !st.onlyCe ? 'selected' : '') + '" title="' + esc(title) +
        '"><span class="dot ' + it.verdict + '"></span><span class="label">' + esc(it.label) +
        '</span>' + (reason ? '<span class="why">' + esc(reason) + '</span>' : '') +
        '<span class="count">' + it.count + '</span></li>';
    }).join('') + (matched > LIST_LIMIT ? '<li class="muted">\u2026 ' + (matched - LIST_LIMIT) + ' more; filter to find them</li>' : '');
    $('partition-count').textContent = '(' + D.partitions.length + ')';
  }

  function renderToolbar() {
    var anyIllegal = D.partitions.some(function (p) { return p.verdict === 'illegal'; });
    $('jump').hidden = !anyIllegal;
    var sel = $('partial');
    var p = st.pi >= 0 && !st.onlyCe ? D.partitions[st.pi] : null;
    if (p && p.verdict === 'illegal' && p.partial && p.partial.length > 1) {
      sel.hidden = false;
      sel.innerHTML = p.partial.map(function (pl, k) {
        return '<option value="' + k + '"' + (k === st.partial ? ' selected' : '') + '>prefix ' + (k + 1) + ' of ' +
          p.partial.length + ' (' + pl.steps.length / 2 + ' placed)</option>';
      }).join('');
    } else {
      sel.hidden = true;
    }
    var legend = '<span><i style="background:' + COLORS.opFill + ';border-color:' + COLORS.opLine + '"></i>operation</span>' +
      '<span><i style="background:linear-gradient(90deg,' + COLORS.opFill + ',#fff);border-color:' + COLORS.opLine + '"></i>no response</span>' +
      '<span><i style="background:' + COLORS.failedFill + ';border-color:' + COLORS.failedLine + '"></i>failed</span>';
    if (anyIllegal) legend += '<span><i style="background:' + COLORS.badFill + ';border-color:' + COLORS.badLine + '"></i>cannot be placed next</span>';
    if (D.counterexample) legend += '<span><i style="background:#fff;border:2px solid ' + COLORS.ceLine + '"></i>counterexample</span>';
    legend += '<span><i style="background:' + COLORS.lin + ';border-color:' + COLORS.lin + ';height:3px"></i>' +
      (anyIllegal ? 'longest linearizable prefix' : 'linearization') + '</span>';
    if (st.pi < 0 && D.partitions.length > 1) legend += '<span>select a partition to see its linearization</span>';
    $('legend').innerHTML = legend;
  }

  function select(pi, opts) {
    st.pi = pi;
    st.partial = 0;
    if (!opts || !opts.keepCe) { st.onlyCe = false; $('only-ce').checked = false; }
    st.pinned = -1;
    st.hover = -1;
    layout();
    fit();
    renderPartitions();
    renderToolbar();
    showDetails();
    draw();
  }

  function relayout(keepCenter) {
    var center = keepCenter ? wxAt(GUTTER + plotW() / 2) / Math.max(st.width, 1e-9) : 0;
    layout();
    fit();
    if (keepCenter && st.scale < 1) {
      st.left = center * st.width - plotW() / 2 / st.scale;
    }
    draw();
  }

  // Zooms to where the search got stuck: the last steps of the prefix and the operations that could
  // not follow, at a scale where their labels can be read.
  function jumpToError() {
    var p = st.pi >= 0 ? D.partitions[st.pi] : null;
    if (st.onlyCe || !p || p.verdict !== 'illegal') {
      var first = D.partitions.findIndex(function (q) { return q.verdict === 'illegal'; });
      if (first < 0) return false;
      select(first);
    }
    var pl = errorPoint();
    if (!pl) return false;
    // The error's horizon is where the operations that could not be placed end; the last steps of the
    // prefix give the context on its left.
    var lo = Infinity, hi = -Infinity;
    pl.stuck.concat([pl.blocking]).forEach(function (i) {
      lo = Math.min(lo, st.x0[i]);
      var room = Math.min(labelLength(i), MAX_LABEL_CHARS) * CHAR_W + 14;
      hi = Math.max(hi, st.open[i] ? st.x0[i] + room * (st.real ? 1 / st.scale : 1) : st.x1[i]);
    });
    for (var k = Math.max(0, st.chainOps.length - 6); k < st.chainOps.length; k++) lo = Math.min(lo, st.chainX[k]);
    if (st.real) {
      st.scale = plotW() / (Math.max(hi - lo, 1e-9) * 1.15);
      st.left = (lo + hi) / 2 - plotW() / 2 / st.scale;
    } else {
      // A compressed layout is sized for its labels at scale 1. The error goes three quarters of the
      // way across, so the end of the prefix that led to it is in view on its left; zoom out (a little)
      // if that is what it takes to show the last few steps.
      st.scale = Math.min(1, Math.max(0.5, plotW() * 0.7 / Math.max(hi - lo, 1e-9)));
      st.left = Math.max(0, Math.min(hi - plotW() * 0.75 / st.scale, st.width + 20 / st.scale - plotW() / st.scale));
    }
    var row = st.rows[st.rowOf[pl.blocking]];
    st.top = row ? row.y - (cssH - AXIS_H) / 2 : 0;
    clampTop();
    draw();
    return true;
  }

  // Bring operation i into view if it is not.
  function reveal(i) {
    var row = st.rows[st.rowOf[i]];
    var x0 = sx(st.x0[i]), x1 = sx(st.x1[i]);
    if (x1 < GUTTER || x0 > cssW - 20 || x1 - x0 < 4) {
      if (x1 - x0 < 4 && !st.real) st.scale = 1;
      st.left = (st.x0[i] + Math.min(st.x1[i], st.x0[i] + plotW() / st.scale)) / 2 - plotW() / 2 / st.scale;
    }
    var y = row.y - st.top;
    if (y < 0 || y + ROW_H > cssH - AXIS_H) { st.top = row.y - (cssH - AXIS_H) / 2; clampTop(); }
  }

  // Shows operation i pinned, switching to its partition if the selection does not have it.
  function showOperation(i) {
    if (!inSelection(i) && i < N) select(partOf[i]);
    if (!inSelection(i)) return false;
    reveal(i);
    st.pinned = i;
    showDetails();
    draw();
    return true;
  }

  function inSelection(i) {
    if (i < 0 || i >= N) return false;
    var row = st.rows[st.rowOf[i]];
    if (!row) return false;
    var ops = row.ops;
    for (var k = 0; k < ops.length; k++) if (ops[k] === i) return true;
    return false;
  }

  function wire() {
    var drag = null;
    canvas.addEventListener('mousedown', function (e) {
      drag = { x: e.clientX, y: e.clientY, left: st.left, top: st.top, moved: false };
      canvas.classList.add('dragging');
    });
    window.addEventListener('mousemove', function (e) {
      var rect = canvas.getBoundingClientRect();
      if (drag) {
        var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        if (drag.moved) {
          st.left = drag.left - dx / st.scale;
          st.top = drag.top - dy;
          clampTop();
          requestDraw();
        }
        return;
      }
      if (e.target !== canvas) return;
      var i = opAt(e.clientX - rect.left, e.clientY - rect.top);
      if (i !== st.hover) {
        st.hover = i;
        if (st.pinned < 0) showDetails();
        requestDraw();
      }
    });
    window.addEventListener('mouseup', function (e) {
      if (!drag) return;
      var wasClick = !drag.moved;
      drag = null;
      canvas.classList.remove('dragging');
      if (wasClick && e.target === canvas) {
        var rect = canvas.getBoundingClientRect();
        var i = opAt(e.clientX - rect.left, e.clientY - rect.top);
        st.pinned = i === st.pinned ? -1 : i;
        showDetails();
        draw();
      }
    });
    canvas.addEventListener('mouseleave', function () {
      if (st.hover >= 0) { st.hover = -1; if (st.pinned < 0) showDetails(); requestDraw(); }
    });
    canvas.addEventListener('wheel', function (e) {
      e.preventDefault();
      var rect = canvas.getBoundingClientRect();
      if (e.shiftKey) { st.top += e.deltaY; clampTop(); }
      else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) st.left += e.deltaX / st.scale;
      else zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - rect.left);
      requestDraw();
    }, { passive: false });
    $('zoom-in').addEventListener('click', function () { zoomAt(1.6, GUTTER + plotW() / 2); draw(); });
    $('zoom-out').addEventListener('click', function () { zoomAt(1 / 1.6, GUTTER + plotW() / 2); draw(); });
    $('fit').addEventListener('click', function () { fit(); draw(); });
    $('jump').addEventListener('click', jumpToError);
    $('real-time').addEventListener('change', function (e) { st.real = e.target.checked; relayout(true); });
    $('partial').addEventListener('change', function (e) {
      st.partial = Number(e.target.value);
      buildChain();
      showDetails();
      draw();
    });
    $('only-ce').addEventListener('change', function (e) {
      st.onlyCe = e.target.checked;
      if (st.onlyCe && D.counterexample) {
        var pi = D.partitions.findIndex(function (p) { return p.label === D.counterexample.partition; });
        st.pi = pi;
      }
      st.pinned = -1;
      layout();
      fit();
      renderPartitions();
      renderToolbar();
      showDetails();
      draw();
    });
    $('partitions').addEventListener('click', function (e) {
      var li = e.target.closest('li[data-pi]');
      if (li) select(Number(li.getAttribute('data-pi')));
    });
    $('partition-filter').addEventListener('input', renderPartitions);
    $('story').addEventListener('click', function (e) {
      var a = e.target.closest('a[data-op]');
      if (!a) return;
      e.preventDefault();
      showOperation(Number(a.getAttribute('data-op')));
    });
    window.addEventListener('resize', function () { resize(); clampTop(); draw(); });
  }

  // ---------------------------------------------------------------------------------------------
  // Start.

  renderHeader();
  renderStatus();
  wire();
  resize();
  var initial = -1;
  if (D.partitions.length && (D.partitions[0].verdict === 'illegal' || D.partitions.length === 1)) initial = 0;
  st.pi = initial;
  var layoutStart = performance.now();
  layout();
  var layoutMs = performance.now() - layoutStart;
  fit();
  renderPartitions();
  renderToolbar();
  var drawStart = performance.now();
  draw();
  var drawMs = performance.now() - drawStart;
  performance.mark('quill-first-render');
  // An illegal history opens at its first error: among a thousand operations the red one would not be
  // seen. The address (below) can still ask for another view.
  var openedAtError = D.verdict === 'illegal' && jumpToError();

  // The address can say where to open, so that a link in a bug report points at what matters:
  // `#partition=x`, `#real` (proportional time), `#error` (the first error), `#op=12` (operation 12
  // pinned), joined with `&` and applied in that order.
  location.hash.slice(1).split('&').forEach(function (part) {
    var eq = part.indexOf('=');
    var key = eq < 0 ? part : part.slice(0, eq);
    var value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    if (key === 'partition') {
      var pi = D.partitions.findIndex(function (p) { return p.label === value; });
      if (pi >= 0) select(pi);
    } else if (key === 'real') {
      st.real = true;
      $('real-time').checked = true;
      relayout(false);
    } else if (key === 'error') {
      jumpToError();
    } else if (key === 'op' && /^\d+$/.test(value)) {
      showOperation(Number(value));
    }
  });

  // Hooks for tests and for poking at a page from the console. Their names and results are stable.
  window.quill = {
    ready: true,
    // Milliseconds: parse is since the script started; firstRender is since navigation started.
    timings: {
      parse: parsedAt - startedAt,
      layout: layoutMs,
      draw: drawMs,
      firstRender: performance.now()
    },
    operationCount: function () { return N; },
    drawnOperationCount: function () { return st.drawn; },
    // Rows of operation boxes over all lanes (a lane has more than one only where boxes overlap).
    rowCount: function () { return st.rows.length; },
    errorMarkerCount: function () { return st.drawnBad; },
    // Points of the (partial) linearization drawn for the selection.
    linearizationPointCount: function () { return st.chainOps ? st.chainOps.length : 0; },
    partitions: function () {
      return D.partitions.map(function (p) { return { label: p.label, verdict: p.verdict, operations: p.ops.length }; });
    },
    selectedPartition: function () { return st.pi >= 0 ? D.partitions[st.pi].label : null; },
    // A label, or null for every operation. False when there is no such partition.
    selectPartition: function (lbl) {
      if (lbl === null || lbl === undefined) { select(-1); return true; }
      var pi = D.partitions.findIndex(function (p) { return p.label === lbl; });
      if (pi < 0) return false;
      select(pi);
      return true;
    },
    // Pins operation i as a click would (bringing it into view); null when it is not shown.
    clickOperation: function (i) {
      if (!inSelection(i)) return null;
      reveal(i);
      st.pinned = i;
      showDetails();
      draw();
      return details(i);
    },
    // Where operation i's box is on the page, in CSS pixels, for a real mouse click; null when hidden.
    operationBox: function (i) {
      if (!inSelection(i)) return null;
      var rect = canvas.getBoundingClientRect();
      var row = st.rows[st.rowOf[i]];
      var x0 = Math.max(GUTTER, sx(st.x0[i])), x1 = Math.min(cssW, sx(st.x1[i]));
      var y = AXIS_H - st.top + row.y + (ROW_H - BOX_H) / 2;
      if (x1 <= x0 || y < AXIS_H || y + BOX_H > cssH) return null;
      return { x: rect.left + x0, y: rect.top + y, width: x1 - x0, height: BOX_H };
    },
    reveal: function (i) { if (!inSelection(i)) return false; reveal(i); draw(); return true; },
    selectedDetails: function () { return details(st.pinned >= 0 ? st.pinned : st.hover); },
    // The view: world x at the plot's left edge, pixels per world unit, pixels scrolled down.
    view: function () { return { left: st.left, scale: st.scale, top: st.top, real: st.real }; },
    label: label,
    // Whether the page opened at the first error (an illegal history does, unless its address says
    // otherwise), and that error's operation (the one that forced the search back), or null.
    openedAtError: function () { return openedAtError; },
    errorOperation: function () { var pl = errorPoint(); return pl ? pl.blocking : null; },
    // The tick labels of the last frame, with their extent in CSS pixels, and the "stuck" marker's.
    ticks: function () { return (st.ticks || []).map(function (t) { return { text: t.text, left: t.left, right: t.right }; }); },
    stuckMarker: function () { return st.stuckBox || null; },
    jumpToError: jumpToError,
    fit: function () { fit(); draw(); },
    zoom: function (factor) { zoomAt(factor, GUTTER + plotW() / 2); draw(); },
    setRealTime: function (on) { st.real = !!on; $('real-time').checked = st.real; relayout(false); },
    // Draws one frame and says how long it took, in milliseconds.
    redraw: function () { draw(); return st.lastDrawMs; }
  };
})();
