// A task DAG drawn as SVG: a small layered layout (tasks are few).
import { svg } from './util.js';

// parentsOf finds the tasks a `depends` text names: a list "a, b" or an
// expression such as "left && right.succeeded". Each parent comes with
// the outcome the expression asks of it ("failed" in "x.failed"), if any.
export function parentsOf(depends, names) {
  const out = [];
  if (!depends) return out;
  const known = new Set(names);
  const re = /[a-z0-9][a-z0-9-]*(?:\.[a-zA-Z]+)?/g;
  for (const m of depends.matchAll(re)) {
    const before = m.index > 0 ? depends[m.index - 1] : '';
    if (/[a-z0-9.-]/.test(before)) continue;
    const [name, outcome] = m[0].split('.');
    if (known.has(name) && !out.some((p) => p.name === name)) out.push({ name, outcome: outcome || '' });
  }
  return out;
}

const isExpression = (d) => /&&|\|\||!|\(|\./.test(d || '');

// layout places tasks in layers: a task sits one layer right of its
// deepest parent; within a layer tasks are ordered by their parents'
// mean row, then by name. Returns {nodes: {name: {x, y, layer, row}}, edges, width, height}.
export function layout(tasks, dims = { w: 170, h: 52, gapX: 90, gapY: 26 }) {
  const names = tasks.map((t) => t.name);
  const parents = {};
  for (const t of tasks) parents[t.name] = parentsOf(t.depends, names);
  const layer = {};
  const visiting = new Set();
  const depth = (n) => {
    if (layer[n] !== undefined) return layer[n];
    if (visiting.has(n)) return 0; // a cycle the API would have refused
    visiting.add(n);
    let d = 0;
    for (const p of parents[n]) d = Math.max(d, depth(p.name) + 1);
    visiting.delete(n);
    layer[n] = d;
    return d;
  };
  names.forEach(depth);
  const layers = [];
  for (const n of names) (layers[layer[n]] ||= []).push(n);
  const row = {};
  layers.forEach((ns, li) => {
    const key = (n) => {
      const ps = parents[n];
      if (li === 0 || ps.length === 0) return names.indexOf(n);
      return ps.reduce((s, p) => s + (row[p.name] ?? 0), 0) / ps.length;
    };
    ns.sort((a, b) => key(a) - key(b) || a.localeCompare(b));
    ns.forEach((n, i) => { row[n] = i; });
  });
  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const nodes = {};
  for (const n of names) {
    const l = layers[layer[n]];
    const offset = ((tallest - l.length) * (dims.h + dims.gapY)) / 2;
    nodes[n] = { x: 10 + layer[n] * (dims.w + dims.gapX), y: 10 + offset + row[n] * (dims.h + dims.gapY), layer: layer[n], row: row[n] };
  }
  const edges = [];
  for (const t of tasks) {
    for (const p of parents[t.name]) edges.push({ from: p.name, to: t.name, label: isExpression(t.depends) ? (p.outcome || 'succeeded') : '' });
  }
  return {
    nodes, edges, dims,
    width: 20 + layers.length * (dims.w + dims.gapX) - dims.gapX,
    height: 20 + tallest * (dims.h + dims.gapY) - dims.gapY,
  };
}

// draw renders the DAG of a job's task statuses (name, state, instances,
// counts, depends) and the specs' `when` (whenOf(name)); onSelect(name)
// is called when a task is clicked; selected is highlighted.
export function draw(tasks, { selected, onSelect, whenOf = () => '' } = {}) {
  const L = layout(tasks);
  const { w, h } = L.dims;
  const extra = tasks.some((t) => whenOf(t.name) || isExpression(t.depends)) ? 18 : 0;
  const root = svg('svg', { class: 'dag', width: L.width, height: L.height + extra, viewBox: `0 0 ${L.width} ${L.height + extra}`, role: 'img', 'aria-label': 'task graph' });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
  for (const e of L.edges) {
    const a = L.nodes[e.from], b = L.nodes[e.to];
    const x1 = a.x + w, y1 = a.y + h / 2, x2 = b.x, y2 = b.y + h / 2, mx = (x1 + x2) / 2;
    const g = svg('g', { class: 'edge', 'data-from': e.from, 'data-to': e.to });
    g.append(svg('path', { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)' }));
    if (e.label) g.append(svg('text', { x: mx, y: (y1 + y2) / 2 - 4, 'text-anchor': 'middle', class: 'edge-label', text: e.label }));
    root.append(g);
  }
  for (const t of tasks) {
    const n = L.nodes[t.name];
    const c = t.counts || {};
    const g = svg('g', { class: 'node s-' + t.state + (t.name === selected ? ' selected' : ''), 'data-task': t.name, tabindex: 0, transform: `translate(${n.x},${n.y})`,
      onclick: () => onSelect && onSelect(t.name),
      onkeydown: (ev) => { if (ev.key === 'Enter') onSelect && onSelect(t.name); } });
    g.append(svg('title', { text: `${t.name}: ${t.state}` + (t.depends ? `\ndepends: ${t.depends}` : '') + (whenOf(t.name) ? `\nwhen: ${whenOf(t.name)}` : '') + (t.reason ? `\n${t.reason}` : '') }));
    g.append(svg('rect', { width: w, height: h, rx: 6 }));
    g.append(svg('text', { x: 10, y: 20, class: 'node-name', text: t.name.length > 20 ? t.name.slice(0, 19) + '…' : t.name }));
    const done = (c.succeeded || 0);
    const line = `${t.state} · ${done}/${t.instances}` + (c.failed ? ` · ${c.failed} failed` : '') + (c.running ? ` · ${c.running} run` : '') + (c.retrying ? ` · ${c.retrying} retrying` : '') + (c.skipped && t.state !== 'skipped' ? ` · ${c.skipped} skipped` : '');
    g.append(svg('text', { x: 10, y: 38, class: 'node-sub', text: line }));
    const cond = [isExpression(t.depends) ? t.depends : '', whenOf(t.name) ? 'when ' + whenOf(t.name) : ''].filter(Boolean).join('; ');
    if (cond) g.append(svg('text', { x: 0, y: h + 13, class: 'node-cond', text: cond.length > 34 ? cond.slice(0, 33) + '…' : cond }));
    root.append(g);
  }
  return root;
}
