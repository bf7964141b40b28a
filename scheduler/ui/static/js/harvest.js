// Harvest: batch usage against idle capacity over time, per host and for
// the cluster, with throttles and evictions (GET /v1/harvest).
import { get } from './api.js';
import { el, svg, num, message, poller } from './util.js';

// chart draws lines (series of {t, v}) and event ticks over one time axis.
function chart(points, lines, { width = 760, height = 200, events = [], id } = {}) {
  const pad = { l: 44, r: 10, t: 10, b: 22 };
  const root = svg('svg', { class: 'chart', id, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  if (points.length === 0) {
    root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'muted-fill', text: 'no heartbeats recorded yet' }));
    return root;
  }
  const ts = points.map((p) => Date.parse(p.time));
  const t0 = Math.min(...ts), t1 = Math.max(...ts, t0 + 1000);
  const vmax = Math.max(0.001, ...lines.flatMap((l) => points.map(l.value)));
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / vmax) * (height - pad.t - pad.b);
  for (const f of [0, 0.5, 1]) {
    root.append(svg('line', { x1: pad.l, x2: width - pad.r, y1: y(vmax * f), y2: y(vmax * f), class: 'gridline' }));
    root.append(svg('text', { x: pad.l - 4, y: y(vmax * f) + 4, 'text-anchor': 'end', class: 'axis', text: num(vmax * f, 1) }));
  }
  root.append(svg('text', { x: pad.l, y: height - 6, class: 'axis', text: new Date(t0).toLocaleTimeString() }));
  root.append(svg('text', { x: width - pad.r, y: height - 6, 'text-anchor': 'end', class: 'axis', text: new Date(t1).toLocaleTimeString() }));
  for (const ev of events) {
    points.forEach((p, i) => {
      const n = ev.value(p);
      if (n > 0) root.append(svg('rect', { x: x(ts[i]) - 2, y: pad.t, width: 4, height: height - pad.t - pad.b, class: ev.class }, svg('title', { text: `${n} ${ev.name} at ${p.time}` })));
    });
  }
  for (const l of lines) {
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(ts[i]).toFixed(1)},${y(l.value(p)).toFixed(1)}`).join(' ');
    root.append(svg('path', { d, class: 'line ' + l.class }, svg('title', { text: l.name })));
  }
  return root;
}

const legend = (items) => el('div', { class: 'legend' }, items.map((i) => el('span', { class: 'key ' + i.class, text: i.name })));

const cpuLines = [
  { name: 'idle capacity (capacity − business)', class: 'l-idle', value: (p) => p.idle.cpus },
  { name: 'batch allowance', class: 'l-allow', value: (p) => p.allowance.cpus },
  { name: 'batch usage', class: 'l-batch', value: (p) => p.batch.cpus },
  { name: 'business usage', class: 'l-business', value: (p) => p.business.cpus },
];
const events = [
  { name: 'throttled hosts', class: 'ev-throttle', value: (p) => p.throttled },
  { name: 'eviction requests', class: 'ev-evict', value: (p) => p.evictions },
];

export function harvestPage(box) {
  const note = el('div', { class: 'note', hidden: true });
  const summary = el('div', { class: 'cards', id: 'harvest-summary' });
  const clusterBox = el('section', { class: 'card' });
  const hostsBody = el('tbody');
  box.append(el('div', { class: 'title' }, el('h1', { text: 'Harvest' })), note, summary, clusterBox,
    el('table', { class: 'grid', id: 'harvest-hosts' }, el('thead', {}, el('tr', {}, ['host', 'idle', 'batch', 'allowance', 'throttled', 'evictions', 'batch vs idle cpu'].map((h) => el('th', { text: h })))), hostsBody));
  const p = poller(async () => {
    try {
      const v = await get('/v1/harvest');
      // A poll that found no heartbeat is no measurement of zero capacity: left out.
      v.cluster = v.cluster.filter((p) => p.hosts > 0);
      const last = v.cluster.length ? v.cluster[v.cluster.length - 1] : null;
      const evictions = v.cluster.reduce((s, p) => s + p.evictions, 0);
      const used = last && last.idle.cpus ? (100 * last.batch.cpus) / last.idle.cpus : 0;
      summary.replaceChildren(
        el('div', { class: 'stat' }, el('b', { text: last ? `${last.hosts}` : '0' }), ' hosts reporting'),
        el('div', { class: 'stat' }, el('b', { text: last ? `${num(last.batch.cpus)} / ${num(last.idle.cpus)}` : '–' }), ' batch / idle cpu now', el('div', { class: 'muted small', text: last ? `${num(used, 0)}% of the idle cpu harvested` : '' })),
        el('div', { class: 'stat' }, el('b', { text: last ? String(last.throttled) : '0' }), ' hosts throttled now'),
        el('div', { class: 'stat' }, el('b', { text: String(evictions) }), ` eviction requests in the window`));
      clusterBox.replaceChildren(el('h2', { text: `Cluster cpu over the last ${v.cluster.length} samples (every ${num(v.intervalSeconds, 0)} s)` }),
        chart(v.cluster, cpuLines, { events, id: 'cluster-chart' }), legend([...cpuLines, ...events]));
      hostsBody.replaceChildren(...v.hosts.map((h) => {
        const l = h.points[h.points.length - 1] || { idle: {}, batch: {}, allowance: {} };
        return el('tr', { 'data-host': h.hostname },
          el('td', {}, el('b', { text: h.hostname })),
          el('td', { text: `${num(l.idle.cpus)} cpu` }),
          el('td', { text: `${num(l.batch.cpus)} cpu` }),
          el('td', { text: `${num(l.allowance.cpus)} cpu` }),
          el('td', { class: l.throttled ? 'warn' : '', text: l.throttled ? 'yes' : 'no' }),
          el('td', { text: String(h.points.reduce((s, p) => s + p.evictions, 0)) }),
          el('td', {}, chart(h.points, cpuLines.slice(0, 3), { width: 260, height: 60, events })));
      }));
      if (!v.hosts.length) hostsBody.append(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: 'no monitor heartbeat recorded yet (is gleaner monitor running beside the agents?)' })));
      message(note, null);
    } catch (e) { message(note, e); }
  }, 10000);
  return p;
}
