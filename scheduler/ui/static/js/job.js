// A job: its DAG, per task the instances paged failed first, why pending,
// an attempt's log followed while it runs.
import { get, call, enc } from './api.js';
import { el, badge, age, duration, message, poller, countsText, failedIndexesText } from './util.js';
import { draw } from './dag.js';
import { actionButtons } from './jobs.js';

const pageSize = 50;
const instanceStates = ['', 'failed', 'running', 'pending', 'succeeded', 'killed'];

function whyText(why) {
  if (!why) return '';
  const forever = why.code === 'unschedulable-forever';
  const reasons = (why.reasons || []).map((r) => `${r.reason} (${r.count} agent${r.count === 1 ? '' : 's'})`).join(', ');
  return (forever ? 'No known agent could ever take it' : 'Waiting for an offer that fits') + (reasons ? ': ' + reasons : '') + '.';
}

function lastAttempt(inst) {
  const as = inst.attempts || [];
  return as.length ? as[as.length - 1] : null;
}

function attemptDuration(a) {
  if (!a || !a.started) return '';
  const end = a.ended ? Date.parse(a.ended) : Date.now();
  return duration((end - Date.parse(a.started)) / 1000);
}

// logView shows an attempt's stdout or stderr, following it while it runs.
function logView(jobID, task, index, attempt, running) {
  const pre = el('pre', { class: 'log', id: 'log', 'aria-live': 'polite' });
  const status = el('span', { class: 'muted' });
  const ctl = new AbortController();
  let streamName = 'stdout';
  const maxShown = 1 << 20;
  const tabs = ['stdout', 'stderr'].map((s) => el('button', { type: 'button', class: 'tab' + (s === streamName ? ' active' : ''), 'data-stream': s, text: s, onclick: () => {
    streamName = s;
    for (const t of tabs) t.classList.toggle('active', t.dataset.stream === s);
    open();
  } }));
  let reader = null;
  async function open() {
    if (reader) { try { await reader.cancel(); } catch { /* already closed */ } }
    pre.textContent = '';
    status.textContent = running ? 'following…' : 'loading…';
    const q = new URLSearchParams({ stream: streamName, attempt: String(attempt) });
    if (running) q.set('follow', 'true');
    try {
      const resp = await call('GET', `/v1/jobs/${enc(jobID)}/tasks/${enc(task)}/instances/${index}/logs?${q}`, { raw: true, signal: ctl.signal });
      reader = resp.body.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let text = pre.textContent + dec.decode(value, { stream: true });
        if (text.length > maxShown) text = '… (earlier output cut)\n' + text.slice(-maxShown);
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.textContent = text;
        if (atBottom) pre.scrollTop = pre.scrollHeight;
      }
      status.textContent = 'end of ' + streamName;
      pre.dataset.done = '1';
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = e.message;
    }
  }
  open();
  const box = el('div', { class: 'card logbox', id: 'logbox' },
    el('div', { class: 'row' }, el('b', { text: `${jobID}/${task}/${index} attempt ${attempt}` }), ...tabs, status,
      el('button', { type: 'button', class: 'link', text: 'close', onclick: () => { ctl.abort(); box.remove(); } })),
    pre);
  box.stop = () => ctl.abort();
  return box;
}

export function jobPage(box, id, session) {
  const note = el('div', { class: 'note', hidden: true });
  const header = el('div', { class: 'title' });
  const info = el('div', { class: 'info', id: 'job-info' });
  const dagBox = el('div', { class: 'dagbox', id: 'dag' });
  const taskBox = el('section', { class: 'card', id: 'task' });
  const logSlot = el('div');
  box.append(el('div', { class: 'crumbs' }, el('a', { href: '#/jobs', text: '← jobs' })), header, note, info, dagBox, taskBox, logSlot);

  // outputsText lists an attempt's output parameters as name=value, cut
  // to max characters (0: whole).
  const outputsText = (a, max) => {
    const o = (a && a.outputs) || {};
    const s = Object.keys(o).sort().map((k) => `${k}=${o[k]}`).join(', ');
    return max && s.length > max ? s.slice(0, max) + '…' : s;
  };
  let status = null, spec = null, selected = '', filter = '', offset = 0, log = null;
  const after = (e, msg) => { message(note, e || msg, e ? 'error' : 'note'); p.now(); };
  const specTask = (name) => (spec && (spec.tasks || []).find((x) => x.name === name)) || {};
  const whenOf = (name) => specTask(name).when || '';
  const taskHead = el('div');
  const whyBox = el('p', { class: 'why', id: 'why', hidden: true });
  const fState = el('select', { id: 'i-state', 'aria-label': 'instance state' }, instanceStates.map((s) => el('option', { value: s, text: s || 'any state' })));
  const pager = el('span', { class: 'pager' });
  const tbody = el('tbody');
  taskBox.append(taskHead, whyBox, el('div', { class: 'toolbar' }, fState, pager),
    el('table', { class: 'grid', id: 'instances' }, el('thead', {}, el('tr', {}, ['#', 'state', 'host', 'attempts', 'exit', 'reason', 'verdict', 'outputs', 'duration', 'log'].map((h) => el('th', { text: h })))), tbody));
  fState.addEventListener('change', () => { filter = fState.value; offset = 0; p.now(); });

  const openLog = (inst, a) => {
    if (log) { log.stop(); log.remove(); }
    log = logView(id, inst.task, inst.index, a.attempt, a.state === 'running' || a.state === 'launching');
    logSlot.replaceChildren(log);
    log.scrollIntoView({ block: 'nearest' });
  };

  const renderHeader = () => {
    header.replaceChildren(el('h1', { text: status.name }), badge(status.state), el('span', { class: 'muted', text: status.id }),
      el('span', { class: 'spacer' }), ...actionButtons(status.state, id, session, after));
    info.replaceChildren(...[el('span', { text: `submitted ${age(status.submitted)} ago` }), status.reason ? el('span', { class: 'warn', text: status.reason }) : null].filter(Boolean));
    // The graph is redrawn only when it changed, so a node keeps the
    // keyboard focus (and the pointer its hover) from one poll to the next.
    const graph = draw(status.tasks, { selected, whenOf, onSelect: (n) => { selected = n; offset = 0; p.now(); } });
    if (!dagBox.firstElementChild || !dagBox.firstElementChild.isEqualNode(graph)) dagBox.replaceChildren(graph);
  };

  const renderTask = (page) => {
    const t = status.tasks.find((x) => x.name === selected);
    const c = t.counts;
    taskHead.replaceChildren(el('h2', {}, 'task ', el('span', { id: 'task-name', text: t.name }), ' ', badge(t.state)),
      el('p', { class: 'muted', id: 'task-counts', text: `${t.instances} instances: ${countsText(c)}` + (t.depends ? ` · depends: ${t.depends}` : '') + (whenOf(t.name) ? ` · when: ${whenOf(t.name)}` : '') }),
      ...(t.failedIndexes && t.failedIndexes.length ? [el('p', { class: t.state === 'failed' ? 'warn' : 'muted', id: 'failed-indexes', text: failedIndexesText(t, specTask(t.name)) })] : []),
      ...(t.reason ? [el('p', { class: 'warn', text: t.reason })] : []));
    const why = whyText(t.why);
    whyBox.hidden = !why || !c.pending;
    whyBox.textContent = why ? 'Why pending: ' + why : '';
    const last = Math.min(page.total, offset + page.instances.length);
    pager.replaceChildren(
      el('button', { type: 'button', class: 'link', text: '‹ prev', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - pageSize); p.now(); } }),
      el('span', { id: 'page-range', text: page.total ? ` ${offset + 1}–${last} of ${page.total} ` : ' none ' }),
      el('button', { type: 'button', class: 'link', text: 'next ›', disabled: last >= page.total, onclick: () => { offset += pageSize; p.now(); } }));
    tbody.replaceChildren(...page.instances.map((inst) => {
      const a = lastAttempt(inst);
      return el('tr', { 'data-index': inst.index, class: 'inst s-row-' + inst.state },
        el('td', { text: inst.index }),
        el('td', {}, badge(inst.state)),
        el('td', { text: a ? a.hostname || '' : '' }),
        el('td', { text: (inst.attempts || []).length }),
        el('td', { text: a && a.exitCode !== undefined ? String(a.exitCode) + (a.signal ? ` (signal ${a.signal})` : '') : (a && a.signal ? `signal ${a.signal}` : '') }),
        el('td', { class: 'reason', text: a ? [a.reason, a.message].filter(Boolean).join(': ') : (inst.state === 'pending' && why ? why : '') }),
        el('td', { text: a ? a.verdict || '' : '' }),
        el('td', { class: 'outputs', text: outputsText(a, 120), title: outputsText(a, 0) }),
        el('td', { text: attemptDuration(a) }),
        el('td', {}, (inst.attempts || []).map((x) => el('button', { type: 'button', class: 'link log-open', 'data-attempt': x.attempt, text: '#' + x.attempt, title: `${x.state}${x.started ? ', started ' + x.started : ''}`, onclick: () => openLog(inst, x) }))));
    }));
  };

  const p = poller(async () => {
    try {
      status = await get('/v1/jobs/' + enc(id));
      if (spec === null) spec = await get('/v1/jobs/' + enc(id) + '/spec').catch(() => ({}));
      if (!selected || !status.tasks.some((t) => t.name === selected)) {
        // the first task with failures, else one running or pending, else the first
        const pick = status.tasks.find((t) => t.counts.failed) || status.tasks.find((t) => t.counts.running || t.counts.retrying || t.counts.pending) || status.tasks[0];
        selected = pick ? pick.name : '';
      }
      renderHeader();
      if (!selected) return;
      const q = new URLSearchParams({ task: selected, offset: String(offset), limit: String(pageSize) });
      if (filter) q.set('state', filter);
      const page = await get(`/v1/jobs/${enc(id)}/instances?${q}`);
      renderTask(page);
      if (note.dataset.poll) { message(note, null); note.dataset.poll = ''; }
    } catch (e) {
      note.dataset.poll = '1';
      message(note, e);
    }
  }, 2000);
  return { stop() { p.stop(); if (log) log.stop(); }, now: p.now };
}
