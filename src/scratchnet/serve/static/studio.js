// scratchnet studio: the page's behaviour, plain JavaScript (no framework, no build step).
// Views: draw (canvas -> /api/inspect), models, runs (table + overlaid curves), live (server-sent
// events from /api/live), mistakes. Every request goes to this server; nothing is fetched from
// anywhere else.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = {
    models: [], model: "", runs: [], histories: {}, sort: { key: "date", dir: -1 },
    chosen: new Set(), liveSeen: new Set(), knownRuns: null, classes: [],
  };
  const COLOURS = ["#2457c5", "#d1495b", "#2a9d8f", "#e9a23b", "#7b4fc9", "#5c7a29",
    "#c2571a", "#0b7a8a", "#9c2f7c", "#444"];

  // ---- small helpers ------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  const pct = (v) => (typeof v === "number" ? (100 * v).toFixed(2) + "%" : "–");
  const secs = (v) => (typeof v === "number" ? (v < 90 ? v.toFixed(1) + " s" : (v / 60).toFixed(1) + " min") : "–");
  const day = (v) => (v ? v.replace("T", " ").replace("Z", "") : "–");
  const enc = (name) => name.split("/").map(encodeURIComponent).join("/");
  function notice(text) { $("notice").textContent = text || ""; }

  async function getJSON(url, options) {
    const response = await fetch(url, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) throw new Error((data && data.error) || response.status + " " + response.statusText);
    return data;
  }

  // ---- views ------------------------------------------------------------------------------
  const VIEWS = ["draw", "models", "runs", "live", "mistakes"];
  function show(view) {
    if (!VIEWS.includes(view)) view = "draw";
    for (const name of VIEWS) $("view-" + name).hidden = name !== view;
    for (const button of document.querySelectorAll("nav button")) {
      if (button.dataset.view === view) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    state.view = view;
    if (view === "models") renderModel();
    if (view === "runs") { renderRuns(); loadSweeps(); }
    if (view === "mistakes") loadMistakes();
    if (view === "live") renderLive();
    if (location.hash !== "#" + view) history.replaceState(null, "", "#" + view);
  }
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => show(button.dataset.view));
  }

  // ---- models -----------------------------------------------------------------------------
  async function loadModels() {
    try {
      state.models = (await getJSON("/api/models")).models;
    } catch (error) { notice("could not list the models: " + error.message); return; }
    const select = $("model");
    const previous = state.model;
    const usable = state.models.filter((m) => !m.error);
    select.replaceChildren(...usable.map((m) =>
      el("option", { value: m.name, text: m.name + (m.network ? "  (" + m.network + ")" : "") })));
    const none = "No model under the served paths yet: train one with scratchnet train --out RUN_DIR.";
    if (!usable.length) {
      select.append(el("option", { value: "", text: "no model found" }));
      notice(none);
    } else if ($("notice").textContent === none) notice("");
    state.model = usable.some((m) => m.name === previous) ? previous : (usable[0] || {}).name || "";
    select.value = state.model;
    classesFromModel();
    if (state.view === "models") renderModel();
  }
  $("model").addEventListener("change", () => {
    state.model = $("model").value;
    classesFromModel();
    if (state.view === "models") renderModel();
    if (state.view === "mistakes") loadMistakes();
    predictSoon(0);
  });
  function current() { return state.models.find((m) => m.name === state.model); }
  function classesFromModel() {
    const m = current();
    state.classes = (m && m.classes) || ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    for (const id of ["true-class", "predicted-class"]) {
      const select = $(id), kept = select.value;
      select.replaceChildren(el("option", { value: "", text: "any" }),
        ...state.classes.map((c, i) => el("option", { value: String(i), text: c })));
      select.value = kept;
    }
  }
  function renderModel() {
    const m = current(), box = $("model-info");
    if (!m) { box.replaceChildren(el("p", { class: "muted", text: "No model yet." })); return; }
    if (m.error) { box.replaceChildren(el("p", { class: "error", text: m.name + ": " + m.error })); return; }
    const facts = el("dl", { class: "facts" });
    const add = (k, v) => facts.append(el("dt", { text: k }), el("dd", { text: String(v) }));
    add("model", m.name); add("network", m.network); add("parameters", m.parameters.toLocaleString());
    add("data set", m.dataset || "–"); add("test accuracy", pct(m.test_accuracy));
    add("epochs trained", m.epochs_trained ?? "–"); add("date", day(m.date));
    const settings = el("dl", { class: "facts" });
    for (const [k, v] of Object.entries(m.settings || {})) {
      settings.append(el("dt", { text: k }), el("dd", { text: Array.isArray(v) ? v.join(",") : String(v) }));
    }
    box.replaceChildren(el("h2", { text: m.name }), facts,
      el("h2", { text: "Layers" }), el("ul", {}, ...m.layers.map((l) => el("li", {}, el("code", { text: l })))),
      el("h2", { text: "Training settings" }),
      Object.keys(m.settings || {}).length ? settings : el("p", { class: "muted", text: "not recorded in the model file" }));
  }

  // ---- draw -------------------------------------------------------------------------------
  const pad = $("pad"), ctx = pad.getContext("2d");
  let drawing = false, last = null, inked = false, timer = null, busy = false, again = false;
  // Bumped by Clear: an answer to a request sent before it belongs to a picture that is gone.
  let generation = 0;
  function clearPad() {
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, pad.width, pad.height);
    inked = false;
  }
  clearPad();
  function point(event) {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  }
  function stroke(from, to) {
    ctx.strokeStyle = "#000"; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.lineWidth = Number($("pen").value);
    ctx.beginPath(); ctx.moveTo(from[0], from[1]); ctx.lineTo(to[0], to[1]); ctx.stroke();
    inked = true;
  }
  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    drawing = true; last = point(event); stroke(last, last);
    predictSoon(150);
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of (events.length ? events : [event])) { const p = point(e); stroke(last, p); last = p; }
    predictSoon(150);
  });
  function endStroke() { if (drawing) { drawing = false; predictSoon(0); } }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  $("clear").addEventListener("click", () => {
    generation += 1; clearTimeout(timer); timer = null; again = false;
    clearPad(); resetAnswer();
  });
  $("photo").addEventListener("change", async () => {
    const file = $("photo").files[0];
    if (!file) return;
    try {
      const bitmap = await createImageBitmap(file);
      clearPad();
      const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
      const w = bitmap.width * scale, h = bitmap.height * scale;
      ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
      inked = true;
    } catch (e) { /* the server says what is wrong with it */ }
    inspect(file, file.type || "image/png", "photo " + file.name);
    $("photo").value = "";
  });

  // While a stroke goes on, predict at most every `delay` ms; one request at a time.
  function predictSoon(delay) {
    if (timer !== null && delay > 0) return;
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; predictPad(); }, delay);
  }
  function predictPad() {
    if (!inked || !state.model) return;
    if (busy) { again = true; return; }
    const mine = generation;
    pad.toBlob((blob) => inspect(blob, "image/png", "drawing", mine), "image/png");
  }
  async function inspect(body, type, what, mine = generation) {
    busy = true;
    try {
      const url = "/api/inspect?model=" + encodeURIComponent(state.model);
      const result = await getJSON(url, { method: "POST", headers: { "Content-Type": type }, body });
      if (mine === generation) showResult(result, what);
    } catch (error) {
      if (mine !== generation) return;
      $("draw-status").textContent = error.message;
      $("draw-status").classList.add("error");
    } finally {
      busy = false;
      if (again) { again = false; predictPad(); }
    }
  }
  function resetAnswer() {
    $("answer").textContent = "?"; $("probs").replaceChildren(); $("layers").replaceChildren();
    $("templates").replaceChildren(); paintGray($("seen"), null);
    $("draw-status").textContent = "Draw a digit: the network answers as you draw.";
    $("draw-status").classList.remove("error");
  }
  function showResult(result, what) {
    const names = state.classes;
    const record = result.record;
    $("answer").textContent = record.verdict ?? record.prediction;
    $("draw-status").classList.remove("error");
    $("draw-status").textContent = what + ": " + (record.verdict ?? record.prediction) + " (" +
      pct(result.probabilities[result.predicted]) + (record.reason ? "; " + record.reason : "") + ")" +
      (result.true_label !== undefined ? ", true class " + (names[result.true_label] ?? result.true_label) : "");
    paintGray($("seen"), result.input);
    const best = result.predicted;
    $("probs").replaceChildren(...result.probabilities.map((p, i) => {
      const bar = el("span", { class: "bar" });
      bar.style.width = Math.max(0.5, 100 * p) + "%";
      return el("li", { class: i === best ? "top" : null, "data-class": String(i), "data-probability": String(p) },
        el("span", { text: names[i] ?? String(i) }), el("span", {}, bar), el("span", { class: "value", text: (100 * p).toFixed(1) + "%" }));
    }));
    $("layers").replaceChildren(...result.layers.map((layer) => {
      const canvas = el("canvas", { "aria-label": layer.label });
      paintUnits(canvas, layer.values);
      return el("div", { class: "layer" }, el("div", { class: "muted", text: layer.label }), canvas);
    }));
    $("templates").replaceChildren(...result.templates.map((t) => {
      const canvas = el("canvas", { width: 28, height: 28, class: "pixels", "aria-label": "weights of unit " + t.unit });
      paintDiverging(canvas, t.weights);
      return el("figure", {}, canvas, el("figcaption", { text: "unit " + t.unit + " · " + t.contribution.toFixed(2) }));
    }));
  }

  // ---- pictures of numbers ----------------------------------------------------------------
  function paintGray(canvas, values) {
    const c = canvas.getContext("2d"), image = c.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = values ? Math.round(255 * Math.max(0, Math.min(1, values[i]))) : 0;
      image.data.set([v, v, v, 255], 4 * i);
    }
    c.putImageData(image, 0, 0);
  }
  function paintDiverging(canvas, values) {
    const c = canvas.getContext("2d"), image = c.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.max(-1, Math.min(1, values[i]));
      const rgb = v >= 0 ? [255, 255 * (1 - v), 255 * (1 - v)] : [255 * (1 + v), 255 * (1 + v), 255];
      image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
    }
    c.putImageData(image, 0, 0);
  }
  // One cell per unit, in rows of up to 32; colour from dark (0) to yellow (the layer's peak),
  // or blue-white-red around 0 when the layer has negative values (tanh, leaky ReLU).
  function paintUnits(canvas, values) {
    const columns = Math.min(32, values.length), rows = Math.ceil(values.length / columns), cell = 10;
    canvas.width = columns * cell; canvas.height = rows * cell;
    const c = canvas.getContext("2d");
    const low = Math.min(...values), high = Math.max(...values), span = Math.max(Math.abs(low), Math.abs(high)) || 1;
    values.forEach((v, i) => {
      let colour;
      if (low < 0) {
        const t = Math.max(-1, Math.min(1, v / span));
        colour = t >= 0 ? `rgb(255,${Math.round(255 * (1 - t))},${Math.round(255 * (1 - t))})`
          : `rgb(${Math.round(255 * (1 + t))},${Math.round(255 * (1 + t))},255)`;
      } else {
        const t = v / span;
        colour = `rgb(${Math.round(20 + 235 * t)},${Math.round(20 + 200 * t)},${Math.round(60 + 30 * (1 - t))})`;
      }
      c.fillStyle = colour;
      c.fillRect((i % columns) * cell, Math.floor(i / columns) * cell, cell - 1, cell - 1);
    });
  }
  function paintBytes(canvas, base64) {
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    paintGray(canvas, Array.from(bytes, (b) => b / 255));
  }

  // ---- charts -----------------------------------------------------------------------------
  function drawChart(canvas, series, label) {
    const c = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    const left = 52, right = 12, top = 12, bottom = 34;
    c.clearRect(0, 0, W, H); c.fillStyle = "#fff"; c.fillRect(0, 0, W, H);
    const points = series.flatMap((s) => s.points);
    c.fillStyle = "#5b6472"; c.font = "12px system-ui, sans-serif";
    if (!points.length) { c.fillText("no epochs yet", left, H / 2); return; }
    let xMax = Math.max(1, ...points.map((p) => p[0]));
    let yMin = Math.min(...points.map((p) => p[1])), yMax = Math.max(...points.map((p) => p[1]));
    if (yMax - yMin < 1e-9) { yMin -= 0.01; yMax += 0.01; }
    const pad = (yMax - yMin) * 0.05; yMin -= pad; yMax += pad;
    const X = (x) => left + (W - left - right) * (x - 1) / Math.max(1, xMax - 1);
    const Y = (y) => top + (H - top - bottom) * (1 - (y - yMin) / (yMax - yMin));
    c.strokeStyle = "#d5d9e0"; c.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = yMin + (yMax - yMin) * i / 4;
      c.beginPath(); c.moveTo(left, Y(y)); c.lineTo(W - right, Y(y)); c.stroke();
      c.fillText(label.includes("loss") ? y.toFixed(3) : (100 * y).toFixed(1) + "%", 2, Y(y) + 4);
    }
    const step = Math.max(1, Math.ceil(xMax / 10));
    for (let x = 1; x <= xMax; x += step) c.fillText(String(x), X(x) - 3, H - bottom + 16);
    c.fillText("epoch", W - right - 34, H - 4);
    series.forEach((s) => {
      c.strokeStyle = s.colour; c.fillStyle = s.colour; c.lineWidth = 2; c.beginPath();
      s.points.forEach((p, i) => (i ? c.lineTo(X(p[0]), Y(p[1])) : c.moveTo(X(p[0]), Y(p[1]))));
      c.stroke();
      for (const p of s.points) { c.beginPath(); c.arc(X(p[0]), Y(p[1]), 2.5, 0, 7); c.fill(); }
    });
  }
  function legend(list, series) {
    list.replaceChildren(...series.map((s) => {
      const swatch = el("span", { class: "swatch" }); swatch.style.background = s.colour;
      return el("li", {}, swatch, s.label);
    }));
  }
  function curve(history, metric) {
    return (history || []).filter((r) => typeof r[metric] === "number").map((r, i) => [r.epoch || i + 1, r[metric]]);
  }

  // ---- runs -------------------------------------------------------------------------------
  async function loadRuns() {
    try { setRuns((await getJSON("/api/runs")).runs); } catch (e) { notice("could not list the runs: " + e.message); }
  }
  function setRuns(runs) {
    const names = new Set(runs.map((r) => r.name));
    if (state.knownRuns) {
      const fresh = runs.filter((r) => !state.knownRuns.has(r.name)).map((r) => r.name);
      if (fresh.length) notice("new run: " + fresh.join(", "));
      for (const name of fresh) state.liveSeen.add(name);  // shown in Live from its first file
    }
    const modelsBefore = state.runs.filter((r) => r.model).map((r) => r.name).join();
    state.knownRuns = names;
    state.runs = runs;
    if (runs.filter((r) => r.model).map((r) => r.name).join() !== modelsBefore) loadModels();
    for (const run of runs) if (run.status === "training") state.liveSeen.add(run.name);
    const training = runs.filter((r) => r.status === "training").length;
    $("live-count").textContent = training ? "(" + training + ")" : "";
    if (state.view === "runs") renderRuns();
    if (state.view === "live") renderLive();
  }
  function renderRuns() {
    const { key, dir } = state.sort;
    const rows = [...state.runs].sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    for (const th of document.querySelectorAll("#runs-table th")) th.removeAttribute("aria-sort");
    const active = document.querySelector(`#runs-table button[data-sort="${key}"]`);
    if (active) active.parentElement.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    $("runs-empty").hidden = rows.length > 0;
    document.querySelector("#runs-table tbody").replaceChildren(...rows.map((r) => {
      const box = el("input", { type: "checkbox", "aria-label": "compare " + r.name, checked: state.chosen.has(r.name) });
      box.addEventListener("change", () => {
        if (box.checked) state.chosen.add(r.name); else state.chosen.delete(r.name);
        renderOverlay();
      });
      const name = r.report ? el("a", { href: "/reports/" + enc(r.name), target: "_blank", rel: "noopener", text: r.name }) : r.name;
      return el("tr", { "data-run": r.name }, el("td", {}, box), el("td", {}, name), el("td", { text: r.status }),
        el("td", { text: r.dataset || "–" }), el("td", { text: r.network || "–" }),
        el("td", { text: r.epochs + (r.planned_epochs && r.planned_epochs !== r.epochs ? "/" + r.planned_epochs : "") }),
        el("td", { text: pct(r.val_accuracy) }), el("td", { text: pct(r.test_accuracy) }),
        el("td", { text: secs(r.seconds) }), el("td", { text: day(r.date) }));
    }));
    renderOverlay();
  }
  for (const button of document.querySelectorAll("#runs-table th button")) {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : (key === "name" ? 1 : -1) };
      renderRuns();
    });
  }
  async function runHistory(name, fresh) {
    if (fresh || !state.histories[name]) {
      state.histories[name] = await getJSON("/api/runs/" + enc(name) + "/history");
    }
    return state.histories[name];
  }
  let overlayAsked = 0;
  async function renderOverlay() {
    const asked = ++overlayAsked;
    const metric = $("metric").value, names = [...state.chosen].filter((n) => state.knownRuns && state.knownRuns.has(n));
    const series = [];
    for (const [i, name] of names.entries()) {
      try {
        const data = await runHistory(name);
        series.push({ label: name, colour: COLOURS[i % COLOURS.length], points: curve(data.history, metric) });
      } catch (e) { /* gone since */ }
    }
    if (asked !== overlayAsked) return;  // a later call draws
    drawChart($("overlay"), series, metric);
    legend($("overlay-legend"), series);
  }
  $("metric").addEventListener("change", renderOverlay);

  async function loadSweeps() {
    let sweeps = [];
    try { sweeps = (await getJSON("/api/sweeps")).sweeps; } catch (e) { return; }
    $("sweeps").replaceChildren(...(sweeps.length ? sweeps.map((s) => el("li", {},
      el("button", { type: "button", text: s.name, onclick: () => showTrials(s.name) }),
      " " + s.trials + " trials, best validation " + pct(s.best_val_accuracy) + " ",
      s.report ? el("a", { href: "/reports/" + enc(s.name), target: "_blank", rel: "noopener", text: "report" }) : null))
      : [el("li", { class: "muted", text: "No sweep folders here (scratchnet sweep --out DIR makes one)." })]));
  }
  async function showTrials(name) {
    const data = await getJSON("/api/sweeps/" + enc(name) + "/trials");
    const metric = $("metric").value;
    const series = data.trials.map((t, i) => ({
      label: Object.entries(t.params || {}).map(([k, v]) => k + "=" + v).join(" ") + " seed " + t.seed,
      colour: COLOURS[i % COLOURS.length], points: curve(t.history, metric),
    }));
    $("trials").hidden = false;
    drawChart($("trials"), series, metric);
    legend($("trials-legend"), series);
  }

  // ---- live -------------------------------------------------------------------------------
  function renderLive() {
    const runs = state.runs.filter((r) => state.liveSeen.has(r.name));
    $("live-empty").hidden = runs.some((r) => r.status === "training");
    $("live-runs").replaceChildren(...runs.map((r) => {
      const data = state.histories[r.name] || { history: [], progress: null };
      const p = data.progress || {};
      const bar = el("progress", { max: p.steps || 1, value: p.step || 0, "aria-label": "progress of the current epoch" });
      const text = r.status === "training"
        ? "epoch " + (p.epoch || r.epochs + 1) + " of " + (p.epochs || r.planned_epochs || "?") + ", step " + (p.step || 0) + " of " + (p.steps || "?")
        : r.status + " after " + r.epochs + " epochs, validation " + pct(r.val_accuracy);
      const canvas = el("canvas", { class: "chart", width: 640, height: 300, "aria-label": "learning curves of " + r.name });
      const series = [
        { label: "training accuracy", colour: COLOURS[0], points: curve(data.history, "accuracy") },
        { label: "validation accuracy", colour: COLOURS[1], points: curve(data.history, "val_accuracy") },
      ];
      drawChart(canvas, series, "accuracy");
      const list = el("ul", { class: "legend" }); legend(list, series);
      return el("div", { class: "live-run", "data-run": r.name, "data-epochs": String((data.history || []).length) },
        el("h3", { text: r.name }), el("p", { class: "live-text", text }), r.status === "training" ? bar : null, canvas, list);
    }));
  }
  function connectLive() {
    if (!window.EventSource) return;
    const source = new EventSource("/api/live");
    source.addEventListener("runs", (event) => setRuns(JSON.parse(event.data).runs));
    source.addEventListener("run", (event) => {
      const data = JSON.parse(event.data);
      state.histories[data.name] = data;
      if (data.progress) state.liveSeen.add(data.name);
      if (state.view === "live") renderLive();
      if (state.view === "runs" && state.chosen.has(data.name)) renderOverlay();
    });
  }

  // ---- mistakes ---------------------------------------------------------------------------
  let mistakesAsked = 0;  // only the latest request's answer is shown (they can cross)
  async function loadMistakes() {
    const asked = ++mistakesAsked;
    const status = $("mistakes-status");
    if (!state.model) { status.textContent = "No model yet."; $("mistakes").replaceChildren(); return; }
    status.textContent = "Reading the test set…";
    const query = new URLSearchParams();
    if ($("true-class").value) query.set("true", $("true-class").value);
    if ($("predicted-class").value) query.set("predicted", $("predicted-class").value);
    try {
      const data = await getJSON("/api/models/" + enc(state.model) + "/mistakes?" + query);
      if (asked !== mistakesAsked) return;
      status.classList.remove("error");
      status.textContent = data.wrong + " of " + data.test_images + " " + data.dataset + " test images are wrong; " +
        data.matching + " match" + (data.matching > data.shown ? ", the first " + data.shown + " shown" : "") + ". Click one to open it in the draw view.";
      $("mistakes").replaceChildren(...data.items.map((item) => {
        const canvas = el("canvas", { width: 28, height: 28, class: "pixels" });
        paintBytes(canvas, item.pixels);
        const names = state.classes;
        return el("button", {
          type: "button", "data-index": String(item.index),
          "aria-label": "test image " + item.index + ": true " + names[item.true] + ", predicted " + names[item.predicted],
          onclick: () => openTestImage(item, canvas),
        }, canvas, el("span", { text: (names[item.true] ?? item.true) + "→" + (names[item.predicted] ?? item.predicted) + " " + Math.round(100 * item.confidence) + "%" }));
      }));
    } catch (error) {
      if (asked !== mistakesAsked) return;
      status.textContent = error.message; status.classList.add("error"); $("mistakes").replaceChildren();
    }
  }
  $("true-class").addEventListener("change", loadMistakes);
  $("predicted-class").addEventListener("change", loadMistakes);
  async function openTestImage(item, thumb) {
    show("draw");
    clearPad();
    // Show the test image on the pad as dark ink on white, as if drawn.
    const image = thumb.getContext("2d").getImageData(0, 0, 28, 28);
    for (let i = 0; i < image.data.length; i += 4) {
      const v = 255 - image.data[i];
      image.data[i] = image.data[i + 1] = image.data[i + 2] = v;
    }
    const small = el("canvas", { width: 28, height: 28 });
    small.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, pad.width, pad.height);
    inked = true;
    try {
      const url = "/api/inspect?model=" + encodeURIComponent(state.model) + "&test_index=" + item.index;
      showResult(await getJSON(url), "test image " + item.index);
    } catch (error) {
      $("draw-status").textContent = error.message; $("draw-status").classList.add("error");
    }
  }

  // ---- start ------------------------------------------------------------------------------
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1) || "draw");
  loadModels().then(loadRuns).then(connectLive);
  window.studio = { state, predictPad, show };  // for tests and the curious
})();
