// The exemplar page: plain JavaScript, no build step and nothing fetched from the internet.
// Files go to the server as they are chosen (so a bad file is reported at once); "Colorize" queues
// one job per photo and the queue is polled until every job has finished.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  config: null,
  tab: "photos",    // or "video"
  targets: [],      // uploads {id, name, preview, ...} with role target
  videos: [],       // uploads with role video
  references: [],   // uploads with role reference
  picked: new Set(),// reference-folder photo numbers
  colours: [],      // {hex, weight} of "My colours"
  jobs: [],         // {id, target (upload)}, newest last
  shown: null,      // id of the job in the before/after view
  viewing: null,    // the upload (photo or film) in the view, and whether its result is shown
  viewingResult: false,
  hints: {},        // upload id -> [{x, y, colour}] colour hints (hints.js)
  polling: false,
};

// ---------------------------------------------------------------- messages

function say(text) {
  const box = $("message");
  const item = document.createElement("li");
  item.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.title = "dismiss";
  close.onclick = () => { item.remove(); box.hidden = !box.children.length; };
  item.append(close);
  box.prepend(item);
  while (box.children.length > 5) box.lastChild.remove();
  box.hidden = false;
}

async function answer(response) {
  // The server answers errors as {"error": "..."}; anything else (a proxy, a crash) gets a plain line.
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) throw new Error((body && body.error) || `the server answered ${response.status}`);
  return body;
}

// ---------------------------------------------------------------- uploads

async function upload(file, role) {
  const limit = state.config ? state.config.limits.max_upload_mb : Infinity;
  if (file.size > limit * 1e6) {
    throw new Error(`${file.name}: the file is ${(file.size / 1e6).toFixed(1)} MB; ` +
                    `this server accepts files up to ${limit} MB`);
  }
  let response;
  try {
    response = await fetch(`/api/uploads?role=${role}&name=${encodeURIComponent(file.name)}`,
                           {method: "POST", body: file});
  } catch (e) {
    throw new Error(`${file.name}: could not be sent to the server (${e.message})`);
  }
  return answer(response);
}

async function addFiles(files, role) {
  for (const file of files) {
    try {
      const info = await upload(file, role);
      if (role === "target") {
        state.targets.push(info);
        if (info.grey === false) say(`${info.name}: this photo is in colour; only its brightness is used`);
        if (!state.shown) showOriginal(info);
      } else if (role === "video") {
        state.videos.push(info);
        showOriginal(info);
      } else if (role === "reference") {
        state.references.push(info);
      } else {
        state.colours = info.colours.map((c) => ({hex: c.hex, weight: c.weight}));
        $("palette-kind-custom").checked = true;
        renderColours();
      }
    } catch (e) {
      say(e.message);
    }
  }
  renderChips();
}

function chip(info, list, onRemove) {
  const item = document.createElement("li");
  item.className = "chip";
  item.dataset.id = info.id;
  const img = document.createElement("img");
  img.src = info.preview;
  img.alt = "";
  const label = document.createElement("span");
  label.textContent = `${info.name} · ${info.width}×${info.height}` + (info.bit_depth === 16 ? " · 16-bit" : "") +
    (info.frames ? ` · ${info.frames} frames` : "");
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "×";
  remove.title = `remove ${info.name}`;
  remove.onclick = () => { onRemove(); renderChips(); };
  item.append(img, label, remove);
  list.append(item);
}

function renderChips() {
  for (const [key, listId] of [["targets", "targets"], ["videos", "videos"], ["references", "references"]]) {
    const list = $(listId);
    list.replaceChildren();
    state[key].forEach((info, i) => chip(info, list, () => state[key].splice(i, 1)));
  }
  const items = chosen();
  $("colorize").disabled = !(state.config && state.config.ready && items.length);
  const noun = state.tab === "video" ? "films" : "photos";
  $("colorize").textContent = items.length > 1 ? `Colorize ${items.length} ${noun}` : "Colorize";
}

function wireDrop(dropId, inputId, role) {
  const drop = $(dropId), input = $(inputId);
  input.addEventListener("change", () => { addFiles([...input.files], role); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    addFiles([...e.dataTransfer.files], role);
  });
}

// ---------------------------------------------------------------- colour source

function mode() { return document.querySelector("input[name=mode]:checked").value; }

function showMode() {
  for (const m of ["reference", "palette", "automatic"]) $(`${m}-options`).hidden = mode() !== m;
}

function swatch(hex) {
  const s = document.createElement("span");
  s.className = "swatch";
  s.style.background = hex;
  s.title = hex;
  return s;
}

function renderBuiltin() {
  const name = $("palette-builtin").value;
  $("builtin-swatches").replaceChildren(...state.config.palettes[name].map(swatch));
}

function renderColours() {
  const box = $("custom-colours");
  box.replaceChildren();
  state.colours.forEach((colour, i) => {
    const item = document.createElement("span");
    item.className = "colour";
    const picker = document.createElement("input");
    picker.type = "color";
    picker.value = colour.hex;
    picker.setAttribute("aria-label", `colour ${i + 1}`);
    picker.oninput = () => { colour.hex = picker.value; $("palette-kind-custom").checked = true; };
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = "remove this colour";
    remove.onclick = () => { state.colours.splice(i, 1); renderColours(); };
    item.append(picker, remove);
    box.append(item);
  });
}

function paletteText() {
  const look = `@${$("palette-look").value}`;  // the palette's mode travels in its text: 'autumn@grade'
  if (document.querySelector("input[name=palette-kind]:checked").value === "builtin") return $("palette-builtin").value + look;
  if (!state.colours.length) throw new Error("add at least one colour to the palette (or pick a built-in one)");
  return state.colours.map((c) => `${c.hex}:${c.weight}`).join(" ") + look;
}

function renderLibrary() {
  const names = state.config.library;
  $("library").hidden = !state.config.has_reference_dir;
  $("library-grid").replaceChildren(...names.map((name, n) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "pick";
    button.title = name;
    button.dataset.n = n;
    button.setAttribute("aria-pressed", "false");
    const img = document.createElement("img");
    img.src = `/api/library/${n}/thumb`;
    img.alt = name;
    button.append(img);
    button.onclick = () => {
      state.picked.has(n) ? state.picked.delete(n) : state.picked.add(n);
      button.setAttribute("aria-pressed", String(state.picked.has(n)));
    };
    return button;
  }));
}

// ---------------------------------------------------------------- jobs

function chosen() { return state.tab === "video" ? state.videos : state.targets; }

function jobRequest(target) {
  const request = {target: target.id, strength: Number($("strength").value), video: target.role === "video",
                   hints: hintsRequest(target)};
  if (state.config.defaults.vividness !== null) request.vividness = Number($("vividness").value);  // films too
  if (mode() === "reference") {
    request.references = state.references.map((r) => r.id);
    request.library = [...state.picked];
    request.search = $("library-search").checked;
    request.top_k = Number($("top-k").value);
  } else if (mode() === "palette") {
    request.palette = paletteText();
  }
  return request;
}

async function colorize(targets = chosen()) {
  for (const target of targets) {
    try {
      const job = await answer(await fetch("/api/jobs", {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(jobRequest(target)),
      }));
      state.jobs.push({id: job.id, target, status: job});
      state.shown = null;  // the newest result is shown when it arrives
    } catch (e) {
      say(e.message);
      break;
    }
  }
  renderQueue();
  poll();
}

async function poll() {
  if (state.polling) return;
  state.polling = true;
  try {
    while (state.jobs.some((j) => j.status.state === "queued" || j.status.state === "running")) {
      const open = state.jobs.filter((j) => j.status.state === "queued" || j.status.state === "running");
      try {
        const {jobs} = await answer(await fetch(`/api/jobs?ids=${open.map((j) => j.id).join(",")}`));
        for (const status of jobs) {
          const job = state.jobs.find((j) => j.id === status.id);
          const wasOpen = job.status.state === "queued" || job.status.state === "running";
          job.status = status;
          if (wasOpen && status.state === "failed") say(status.message);
          if (wasOpen && status.state === "done" && !state.shown) showResult(job);
        }
        for (const job of open) {  // the server forgot it (restart): say so instead of waiting forever
          if (!jobs.some((s) => s.id === job.id)) {
            job.status = {...job.status, state: "failed", message: `${job.target.name}: the server lost this job (restarted?); colorize it again`};
            say(job.status.message);
          }
        }
      } catch (e) {
        say(`cannot reach the server: ${e.message}`);
      }
      renderQueue();
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  } finally {
    state.polling = false;
  }
}

function renderQueue() {
  $("queue").replaceChildren(...state.jobs.slice().reverse().map((job) => {
    const s = job.status;
    const item = document.createElement("li");
    item.className = `job ${s.state}` + (state.shown === job.id ? " shown" : "");
    item.dataset.state = s.state;
    item.dataset.id = job.id;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = job.target.name;
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = {
      queued: s.position ? `waiting (${s.position} in line)` : "waiting",
      running: `${s.stage}…`,
      done: `done in ${s.seconds} s`,
      failed: s.message,
    }[s.state];
    const bar = document.createElement("progress");
    bar.max = 3;
    if (s.state !== "running") bar.value = s.state === "queued" ? 0 : 3;
    else bar.value = {"starting": 0.3, "finding references": 0.8, "colorizing": 1.5, "saving": 2.6}[s.stage] || 1;
    item.append(name, bar, detail);
    for (const note of s.notes || []) {
      const line = document.createElement("small");
      line.textContent = note;
      item.append(line);
    }
    if (s.state === "done") item.onclick = () => showResult(job);
    return item;
  }));
}

// ---------------------------------------------------------------- the before/after view

function showOriginal(target) {
  const compare = $("compare");
  compare.hidden = false;
  $("result-video").hidden = true;
  compare.classList.remove("empty");
  compare.classList.add("original-only");
  $("before").src = target.preview;
  $("after").src = target.preview;
  $("viewer-caption").textContent = `${target.name} · ${target.width}×${target.height}`;
  $("download").hidden = true;
  state.viewing = target;
  state.viewingResult = false;
  renderHints();
}

function showResult(job) {
  const r = job.status.result;
  state.shown = job.id;
  const compare = $("compare");
  compare.hidden = Boolean(r.video);
  $("result-video").hidden = !r.video;
  if (r.video) $("result-video").src = `/api/jobs/${job.id}/result`;
  compare.classList.remove("empty", "original-only");
  $("before").src = job.target.preview;
  $("after").src = `/api/jobs/${job.id}/preview`;
  $("viewer-caption").textContent = `${job.target.name} · ${r.width}×${r.height} · ` + (r.video
    ? `${r.frames} frames, MP4` : `${r.bit_depth}-bit PNG` + (r.alpha ? " with transparency" : ""));
  const link = $("download");
  link.href = `/api/jobs/${job.id}/result`;
  link.download = r.download;
  link.hidden = false;
  state.viewing = job.target;
  state.viewingResult = !r.video;
  renderHints();
  renderQueue();
}

function switchTab(tab) {
  state.tab = tab;
  for (const t of ["photos", "video"]) {
    $(`tab-${t}`).setAttribute("aria-selected", String(t === tab));
    $(`${t}-step`).hidden = t !== tab;
  }
  renderChips();
  renderHints();
}

function split() {
  const at = $("split").value;
  $("before-clip").style.clipPath = `inset(0 ${100 - at}% 0 0)`;
  $("split-line").style.left = `${at}%`;
}

// ---------------------------------------------------------------- start

async function start() {
  wireDrop("target-drop", "target-input", "target");
  wireDrop("reference-drop", "reference-input", "reference");
  wireDrop("palette-drop", "palette-input", "palette");
  wireDrop("video-drop", "video-input", "video");
  for (const tab of ["photos", "video"]) $(`tab-${tab}`).onclick = () => switchTab(tab);
  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", showMode));
  $("palette-builtin").addEventListener("change", () => { $("palette-kind-builtin").checked = true; renderBuiltin(); });
  $("add-colour").onclick = () => { state.colours.push({hex: "#808080", weight: 1}); $("palette-kind-custom").checked = true; renderColours(); };
  for (const id of ["strength", "vividness"]) {
    $(id).addEventListener("input", () => { $(`${id}-value`).textContent = Number($(id).value).toFixed(2); });
  }
  $("split").addEventListener("input", split);
  $("hint-layer").addEventListener("click", addHint);
  $("after").addEventListener("load", placeHintLayer);
  window.addEventListener("resize", placeHintLayer);
  $("colorize").onclick = () => colorize();
  split();

  for (;;) {  // the models load in the background: ask until they are ready
    try {
      state.config = await answer(await fetch("/api/config"));
    } catch (e) {
      $("status").textContent = "The server cannot be reached";
      await new Promise((resolve) => setTimeout(resolve, 2000));
      continue;
    }
    if (state.config.ready) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const c = state.config;
  $("status").textContent = c.load_error ? c.load_error : `Ready · ${c.method}`;
  $("status").classList.add(c.load_error ? "bad" : "ok");
  $("palette-builtin").replaceChildren(...Object.keys(c.palettes).map((name) => new Option(name, name)));
  renderBuiltin();
  renderLibrary();
  applyDefaults(c);
  renderChips();
}

// The controls start at the server's defaults, within its limits (one source: /api/config).
function applyDefaults(c) {
  const {defaults, limits} = c;
  $("strength").value = defaults.strength;
  $("top-k").value = defaults.top_k;
  $("top-k").max = limits.max_top_k;
  $("vividness-row").hidden = defaults.vividness === null;  // match has no vividness
  if (defaults.vividness !== null) {
    $("vividness").max = limits.max_vividness;
    $("vividness").value = defaults.vividness;
  }
  for (const id of ["strength", "vividness"]) $(`${id}-value`).textContent = Number($(id).value).toFixed(2);
}

start();
