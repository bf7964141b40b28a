// Agents: resources, batch reservation, monitor heartbeat, attributes
// (etcd over Mesos) with inline edit and history.
import { get, call, enc } from './api.js';
import { el, num, mb, age, message, poller } from './util.js';

const res = (r) => (r ? `${num(r.cpus)} cpu · ${mb(r.mem)}` + (r.disk ? ` · ${mb(r.disk)} disk` : '') : '');
const mres = (r) => (r ? `${num(r.cpus)} cpu · ${mb(r.memMb)}` : '');

function monitorCell(a) {
  const m = a.monitor;
  if (a.monitorSilent || !m) return el('td', { class: 'warn', text: 'silent (no heartbeat)' });
  return el('td', { class: 'monitor' },
    el('div', { text: `business ${mres(m.business)}` }),
    el('div', { text: `batch ${mres(m.batch)}` }),
    el('div', { text: `allowance ${mres(m.allowance)}` }),
    el('div', { class: m.throttled ? 'warn' : 'muted', text: m.throttled ? `throttled to ${num(m.throttleCpus)} cpu` : 'not throttled' }),
    el('div', { class: 'muted', text: `heartbeat ${age(m.time)} ago` + (m.lastError ? ` · ${m.lastError}` : '') }));
}

function historyList(changes) {
  if (!changes.length) return el('p', { class: 'muted', text: 'no changes recorded' });
  return el('ul', { class: 'history' }, changes.map((c) => el('li', {},
    el('span', { class: 'muted', text: `${c.at} ${c.who} ${c.op}: ` }),
    (c.diffs || []).map((d) => el('span', { class: 'chip', text: `${d.key}: ${d.old ?? '∅'} → ${d.new ?? '∅'}` })))));
}

export function agentsPage(box, session) {
  const note = el('div', { class: 'note', hidden: true });
  const tbody = el('tbody');
  box.append(el('div', { class: 'title' }, el('h1', { text: 'Agents' })), note,
    el('table', { class: 'grid', id: 'agents' }, el('thead', {}, el('tr', {}, ['host', 'resources', 'batch reservation', 'monitor', 'attributes'].map((h) => el('th', { text: h })))), tbody));
  const open = new Map(); // hostname → 'edit' | 'history' panel kept across polls
  let editing = false; // a poll does not redraw under the operator's typing

  const attrsCell = (a) => {
    const cell = el('td', { class: 'attrs' });
    const keys = Object.keys(a.attributes || {}).sort();
    cell.append(el('div', {}, keys.map((k) => {
      const fromEtcd = k in (a.etcdAttributes || {});
      return el('span', { class: 'chip' + (fromEtcd ? ' etcd' : ''), title: fromEtcd ? 'set in etcd' : 'from Mesos', 'data-key': k },
        `${k}=${a.attributes[k]}`,
        session.admin && fromEtcd ? el('button', { type: 'button', class: 'x action', title: 'remove ' + k, text: '×', onclick: () => del(a.hostname, k) }) : null);
    })));
    const row = el('div', { class: 'row' });
    if (session.admin) row.append(el('button', { type: 'button', class: 'link action attr-edit', text: 'edit', onclick: () => { open.set(a.hostname, 'edit'); render(); } }));
    row.append(el('button', { type: 'button', class: 'link attr-history', text: 'history', onclick: async () => { open.set(a.hostname, open.get(a.hostname) === 'history' ? '' : 'history'); render(); } }));
    cell.append(row);
    const panel = open.get(a.hostname);
    if (panel === 'edit' && session.admin) cell.append(editor(a.hostname));
    if (panel === 'history') {
      const h = el('div', { class: 'history-box' }, el('span', { class: 'muted', text: 'loading…' }));
      cell.append(h);
      get(`/v1/agents/${enc(a.hostname)}/attributes/history?limit=20`).then((r) => h.replaceChildren(historyList(r.changes || []))).catch((e) => h.replaceChildren(el('span', { class: 'error', text: e.message })));
    }
    return cell;
  };

  const editor = (host) => {
    const k = el('input', { class: 'attr-key', placeholder: 'key', 'aria-label': 'attribute key' });
    const v = el('input', { class: 'attr-value', placeholder: 'value', 'aria-label': 'attribute value' });
    const err = el('div', { class: 'error', hidden: true });
    for (const i of [k, v]) {
      i.addEventListener('focus', () => { editing = true; });
      i.addEventListener('blur', () => { editing = false; });
    }
    const save = el('button', { type: 'button', class: 'action attr-save', text: 'set', onclick: async () => {
      save.disabled = true;
      try {
        await call('PATCH', `/v1/agents/${enc(host)}/attributes`, { body: JSON.stringify({ [k.value.trim()]: v.value }) });
        editing = false;
        open.set(host, '');
        message(note, `attribute ${k.value.trim()} set on ${host}`, 'note');
        p.now();
      } catch (e) {
        err.hidden = false;
        err.textContent = (e.field ? e.field + ': ' : '') + e.message;
        if (e.field === 'key' || /key/.test(e.message)) k.classList.add('invalid');
      } finally {
        save.disabled = false;
      }
    } });
    return el('div', { class: 'editor row' }, k, '=', v, save,
      el('button', { type: 'button', class: 'link', text: 'cancel', onclick: () => { editing = false; open.set(host, ''); render(); } }), err);
  };

  const del = async (host, key) => {
    try {
      await call('DELETE', `/v1/agents/${enc(host)}/attributes/${enc(key)}`);
      message(note, `attribute ${key} removed from ${host}`, 'note');
      p.now();
    } catch (e) { message(note, e); }
  };

  let agents = [];
  const render = () => {
    tbody.replaceChildren(...agents.map((a) => el('tr', { 'data-host': a.hostname },
      el('td', {}, el('b', { text: a.hostname }), el('div', { class: 'muted small', text: a.agentId || '' }), a.lastOffer ? el('div', { class: 'muted small', text: `offer ${age(a.lastOffer)} ago` }) : null),
      el('td', { text: res(a.resources) }),
      el('td', {}, el('div', { text: res(a.reserved) }), el('div', { class: 'muted small', text: a.unreserved ? 'unreserved ' + res(a.unreserved) : '' })),
      monitorCell(a),
      attrsCell(a))));
    if (!agents.length) tbody.append(el('tr', {}, el('td', { colspan: 5, class: 'muted', text: 'no agents known yet' })));
  };
  const p = poller(async () => {
    if (editing) return;
    try {
      agents = (await get('/v1/agents')).agents || [];
      render();
    } catch (e) { message(note, e); }
  }, 5000);
  return p;
}
