// Colour hints on the page: click on the result to give that spot a colour, then move, edit or remove it.
// Loaded before app.js, whose globals ($, state, say, colorize) these functions use when called.
//
// A hint is {x, y, colour}: x and y are fractions of the photo's width and height in [0, 1] (the
// server takes them as they are), colour is "#rrggbb". Hints belong to a photo (state.hints, by its
// upload id) and go with every job of that photo; each change colorizes the photo in view again.
"use strict";

const RERUN_DELAY_MS = 300;  // edits closer together than this give one job, not one each

function hintsOf(target) { return state.hints[target.id] || (state.hints[target.id] = []); }

function clamp01(v) { return Math.min(1, Math.max(0, v)); }

function hex(r, g, b) { return "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join(""); }

// The colour the shown result has at (x, y), read from its preview: where the picker starts.
function colourAt(x, y) {
  const img = $("after");
  const canvas = state.sampler || (state.sampler = document.createElement("canvas"));
  const context = canvas.getContext("2d", {willReadFrequently: true});
  if (canvas.dataset.src !== img.src) {  // a new result: draw it once
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    context.drawImage(img, 0, 0);
    canvas.dataset.src = img.src;
  }
  const px = Math.min(canvas.width - 1, Math.floor(x * canvas.width));
  const py = Math.min(canvas.height - 1, Math.floor(y * canvas.height));
  const [r, g, b] = context.getImageData(px, py, 1, 1).data;
  return hex(r, g, b);
}

// The layer lies exactly over the photo inside #after (object-fit: contain leaves bands around it),
// so a click's position over the layer is its position in the photo.
function placeHintLayer() {
  const img = $("after"), layer = $("hint-layer");
  const width = img.naturalWidth, height = img.naturalHeight;
  if (!width || !height || !img.clientWidth) return;
  const scale = Math.min(img.clientWidth / width, img.clientHeight / height);
  Object.assign(layer.style, {
    left: `${img.offsetLeft + (img.clientWidth - width * scale) / 2}px`,
    top: `${img.offsetTop + (img.clientHeight - height * scale) / 2}px`,
    width: `${width * scale}px`, height: `${height * scale}px`,
  });
}

function addHint(event) {
  const target = state.viewing;
  if (event.target !== $("hint-layer") || !target || !state.viewingResult) return;  // markers handle their own
  if (!state.config.hints) { say(`Colour hints: ${state.config.hints_note}`); return; }
  const hints = hintsOf(target), limit = state.config.limits.max_hints;
  if (hints.length >= limit) { say(`at most ${limit} colour hints per photo; remove one first`); return; }
  const box = $("hint-layer").getBoundingClientRect();
  const x = clamp01((event.clientX - box.left) / box.width), y = clamp01((event.clientY - box.top) / box.height);
  hints.push({x, y, colour: colourAt(x, y)});
  renderHints();
  const picker = document.querySelector(`#hints li:last-child input[type=color]`);
  picker.focus();
  try { picker.showPicker(); } catch (e) { /* no picker without a user gesture: the list has it */ }
}

// Drag a marker to move its hint; a click without moving opens its colour picker.
function dragMarker(marker, hint) {
  marker.addEventListener("pointerdown", (down) => {
    down.preventDefault();
    marker.setPointerCapture(down.pointerId);
    let moved = false;
    const move = (e) => {
      const box = $("hint-layer").getBoundingClientRect();
      moved = moved || Math.hypot(e.clientX - down.clientX, e.clientY - down.clientY) > 3;
      if (!moved) return;
      hint.x = clamp01((e.clientX - box.left) / box.width);
      hint.y = clamp01((e.clientY - box.top) / box.height);
      marker.style.left = `${hint.x * 100}%`;
      marker.style.top = `${hint.y * 100}%`;
    };
    const up = () => {
      marker.removeEventListener("pointermove", move);
      marker.removeEventListener("pointerup", up);
      if (moved) { renderHints(); rerunWithHints(); return; }
      const index = hintsOf(state.viewing).indexOf(hint);
      const picker = document.querySelectorAll("#hints input[type=color]")[index];
      if (picker) { picker.focus(); try { picker.showPicker(); } catch (e) { /* see addHint */ } }
    };
    marker.addEventListener("pointermove", move);
    marker.addEventListener("pointerup", up);
  });
}

function numberInput(label, value, max, onChange) {
  const input = document.createElement("input");
  input.type = "number";
  input.min = "0";
  input.max = String(max);
  input.value = String(value);
  input.setAttribute("aria-label", label);
  input.title = `${label} in pixels of the photo (0 to ${max})`;
  input.onchange = () => {
    const v = Number(input.value);
    if (!Number.isFinite(v) || v < 0 || v > max) {
      say(`${label} must be between 0 and ${max}`);
      renderHints();
      return;
    }
    onChange(v);
  };
  return input;
}

function hintRow(target, hints, hint, i) {
  const item = document.createElement("li");
  const picker = document.createElement("input");
  picker.type = "color";
  picker.value = hint.colour;
  picker.setAttribute("aria-label", `colour of hint ${i + 1}`);
  picker.addEventListener("change", () => { hint.colour = picker.value; renderHints(); rerunWithHints(); });
  // Positions are edited in pixels of the uploaded photo; a pixel stands for its centre.
  const w = target.width, h = target.height;
  const x = numberInput(`x of hint ${i + 1}`, Math.min(w - 1, Math.floor(hint.x * w)), w - 1,
                        (v) => { hint.x = (Math.round(v) + 0.5) / w; renderHints(); rerunWithHints(); });
  const y = numberInput(`y of hint ${i + 1}`, Math.min(h - 1, Math.floor(hint.y * h)), h - 1,
                        (v) => { hint.y = (Math.round(v) + 0.5) / h; renderHints(); rerunWithHints(); });
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "×";
  remove.title = `remove hint ${i + 1}`;
  remove.onclick = () => { hints.splice(i, 1); renderHints(); rerunWithHints(); };
  const number = document.createElement("span");
  number.textContent = `${i + 1}.`;
  item.append(number, picker, "x", x, "y", y, remove);
  return item;
}

// Markers over the photo and the list under it, for the photo in view.
function renderHints() {
  const target = state.viewing, layer = $("hint-layer");
  const show = Boolean(target && state.viewingResult && state.tab === "photos");
  $("hints-panel").hidden = !show;
  layer.replaceChildren();
  $("hints").replaceChildren();
  if (!show) return;
  layer.classList.toggle("off", !state.config.hints);
  const hints = hintsOf(target);
  $("hints-note").textContent = !state.config.hints ? `Not available: ${state.config.hints_note}.`
    : hints.length ? "Drag a dot to move it, or edit it below; the photo is colorized again after each change."
    : `Click on the result to give that spot a colour (up to ${state.config.limits.max_hints}); ` +
      "the colour spreads over the object.";
  hints.forEach((hint, i) => {
    const marker = document.createElement("span");
    marker.className = "hint-marker";
    marker.style.left = `${hint.x * 100}%`;
    marker.style.top = `${hint.y * 100}%`;
    marker.style.background = hint.colour;
    marker.title = `hint ${i + 1}: ${hint.colour} (drag to move)`;
    dragMarker(marker, hint);
    layer.append(marker);
    $("hints").append(hintRow(target, hints, hint, i));
  });
}

// The request's hints for one photo (none on films).
function hintsRequest(target) {
  const hints = target.role === "video" ? [] : state.hints[target.id] || [];
  return hints.map(({x, y, colour}) => ({x, y, colour, units: "fraction"}));
}

function rerunWithHints() {
  const target = state.viewing;
  clearTimeout(state.rerun);
  if (target) state.rerun = setTimeout(() => colorize([target]), RERUN_DELAY_MS);
}
