// Small DOM and formatting helpers. Data is only ever set as text.

export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const svgNS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs, ...children) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.setAttribute('class', v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c) e.append(c);
  return e;
}

export function badge(state) {
  return el('span', { class: 'badge s-' + (state || 'unknown'), text: state || '?' });
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || isNaN(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + (s % 60 ? (s % 60) + 's' : '');
  if (s < 86400) return Math.floor(s / 3600) + 'h' + (Math.floor(s / 60) % 60 ? (Math.floor(s / 60) % 60) + 'm' : '');
  return Math.floor(s / 86400) + 'd' + (Math.floor(s / 3600) % 24 ? (Math.floor(s / 3600) % 24) + 'h' : '');
}

export function age(ts) {
  if (!ts) return '';
  return duration((Date.now() - Date.parse(ts)) / 1000);
}

export function num(x, digits = 2) {
  if (x === null || x === undefined) return '';
  const s = Number(x).toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

export function mb(x) {
  if (x === null || x === undefined) return '';
  return x >= 1024 ? num(x / 1024, 1) + ' GiB' : num(x, 0) + ' MiB';
}

// message shows an error (or a notice) in a container, replacing its content.
export function message(box, err, kind = 'error') {
  box.replaceChildren();
  if (!err) { box.hidden = true; return; }
  box.hidden = false;
  box.className = kind;
  box.append(String(err.message || err));
}

// countsText is a task's instance counts in words; retrying (waiting to run
// again) and skipped (the DAG skipped the task) only when there are some.
export function countsText(c) {
  const parts = [`${c.pending} pending`, `${c.running} running`];
  if (c.retrying) parts.push(`${c.retrying} retrying`);
  parts.push(`${c.succeeded} succeeded`, `${c.failed} failed`, `${c.killed} killed`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  return parts.join(', ');
}

// failedIndexesText lists the failed indexes of a task with a per-index
// failure tolerance (t.failedIndexes), against its spec's maxFailedIndexes.
export function failedIndexesText(t, spec) {
  const n = t.failedIndexes.length;
  const max = spec && spec.maxFailedIndexes !== undefined ? spec.maxFailedIndexes : null;
  const limit = max === null ? '' : ` (at most ${max} tolerated)`;
  const listed = n === 100 ? ' (the first 100)' : '';
  return `failed indexes${listed}: ${t.failedIndexes.join(', ')}${limit}`;
}

export const terminal = (s) => ['succeeded', 'failed', 'killed', 'skipped'].includes(s);

// poller calls f now and every ms until stopped; a slow call delays the
// next one rather than piling up.
export function poller(f, ms) {
  let timer = null, stopped = false;
  const tick = async () => {
    if (stopped) return;
    try { await f(); } catch (e) { if (e && e.name !== 'AbortError') console.warn(e); }
    if (!stopped) timer = setTimeout(tick, document.hidden ? ms * 5 : ms);
  };
  tick();
  return { stop() { stopped = true; clearTimeout(timer); }, now() { clearTimeout(timer); tick(); } };
}
