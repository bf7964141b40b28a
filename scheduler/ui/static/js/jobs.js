// Jobs: the list with filters and search, submit with inline errors, actions.
import { get, post, call, enc, ApiError } from './api.js';
import { el, badge, age, message, terminal, poller } from './util.js';

const states = ['', 'pending', 'running', 'suspended', 'succeeded', 'failed', 'killed'];

// actionsFor lists the verbs that make sense for a job in state s.
export function actionsFor(s) {
  const out = [];
  if (!terminal(s)) out.push('kill');
  if (s === 'running' || s === 'pending') out.push('suspend');
  if (s === 'suspended') out.push('resume');
  if (s === 'failed' || s === 'killed') out.push('retry');
  return out;
}

// runAction performs verb on job id (kill asks for a second click).
// A kill takes a second click within killArmedFor ms. Which jobs are
// armed is kept here, not on a button, because the pages redraw their
// buttons on every poll.
const killArmedFor = 4000;
const killArmedUntil = new Map();

// showKillArmed labels a kill button for its job's arming, and labels it
// back when the arming runs out.
function showKillArmed(button, id) {
  const left = (killArmedUntil.get(id) || 0) - Date.now();
  if (left > 0) {
    button.dataset.armed = '1';
    button.textContent = 'confirm kill';
    setTimeout(() => showKillArmed(button, id), left);
    return;
  }
  killArmedUntil.delete(id);
  button.dataset.armed = '';
  button.textContent = 'kill';
}

export async function runAction(verb, id, button, after) {
  if (verb === 'kill' && !((killArmedUntil.get(id) || 0) > Date.now())) {
    killArmedUntil.set(id, Date.now() + killArmedFor);
    showKillArmed(button, id);
    return;
  }
  killArmedUntil.delete(id);
  button.disabled = true;
  try {
    if (verb === 'kill') await call('DELETE', '/v1/jobs/' + enc(id));
    else await post('/v1/jobs/' + enc(id) + '/' + verb);
    after(null, `${verb}: ${id} accepted`);
  } catch (e) {
    after(e);
  } finally {
    button.disabled = false;
  }
}

export function actionButtons(st, id, session, after) {
  if (!session.admin) return [];
  return actionsFor(st).map((verb) => {
    const b = el('button', {
      class: 'action act-' + verb, type: 'button', 'data-action': verb, text: verb,
      onclick: (ev) => { ev.preventDefault(); runAction(verb, id, ev.currentTarget, after); },
    });
    if (verb === 'kill') showKillArmed(b, id);
    return b;
  });
}

function progress(j) {
  let total = 0, ok = 0, bad = 0, run = 0, retrying = 0, skipped = 0;
  for (const t of j.tasks || []) {
    total += t.instances;
    ok += t.counts.succeeded;
    bad += t.counts.failed + t.counts.killed;
    run += t.counts.running;
    retrying += t.counts.retrying || 0;
    skipped += t.counts.skipped || 0;
  }
  const pct = (n) => (total ? (100 * n) / total : 0);
  const more = (retrying ? `, ${retrying} retrying` : '') + (skipped ? `, ${skipped} skipped` : '');
  const bar = el('div', { class: 'bar', title: `${ok} succeeded, ${run} running, ${bad} failed or killed${more} of ${total}` },
    el('span', { class: 'bar-ok' }), el('span', { class: 'bar-run' }), el('span', { class: 'bar-bad' }));
  bar.children[0].style.width = pct(ok) + '%';
  bar.children[1].style.width = pct(run) + '%';
  bar.children[2].style.width = pct(bad) + '%';
  return el('div', { class: 'progress' }, bar, el('span', { class: 'muted', text: `${ok}/${total}` + more }));
}

// fieldLine finds the line of a YAML spec a field path such as
// "tasks[1].resources.cpus" points at (-1 when it cannot tell).
export function fieldLine(text, field) {
  if (!field) return -1;
  const lines = text.split('\n');
  let from = 0, found = -1, indent = -1;
  for (const seg of field.split('.')) {
    const m = seg.match(/^([^[\]]+)((?:\[\d+\])*)$/);
    if (!m) return found;
    const key = m[1];
    const re = new RegExp('^(\\s*(?:-\\s+)?)' + key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\s*:');
    let i = from;
    for (; i < lines.length; i++) {
      const mm = lines[i].match(re);
      if (mm && mm[1].length > indent) break;
    }
    if (i >= lines.length) return found;
    found = i;
    indent = lines[i].match(/^\s*/)[0].length;
    from = i + 1;
    for (const idx of [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]))) {
      // the idx-th list item below the key
      let seen = -1, itemIndent = -1, j = from;
      for (; j < lines.length; j++) {
        const im = lines[j].match(/^(\s*)-\s/);
        if (!im) continue;
        if (itemIndent < 0) itemIndent = im[1].length;
        if (im[1].length !== itemIndent) continue;
        if (++seen === idx) break;
      }
      if (j >= lines.length) return found;
      found = j;
      indent = lines[j].match(/^\s*/)[0].length;
      from = j;
    }
  }
  return found;
}

function submitPanel(session, done) {
  const area = el('textarea', { id: 'spec', rows: 14, spellcheck: 'false', placeholder: 'name: hello\ntasks:\n  - name: say\n    command: "echo hello $GLEANER_INDEX"\n    instances: 3' });
  const err = el('div', { id: 'spec-error', hidden: true, role: 'alert' });
  const view = el('pre', { id: 'spec-view', class: 'spec-view', hidden: true });
  const btn = el('button', { id: 'submit-spec', type: 'button', text: 'Submit' });
  area.addEventListener('input', () => { area.classList.remove('invalid'); view.hidden = true; err.hidden = true; });
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    err.hidden = true;
    view.hidden = true;
    try {
      const r = await post('/v1/jobs', area.value, { contentType: 'application/yaml' });
      done(r.id);
    } catch (e) {
      err.replaceChildren();
      err.hidden = false;
      err.className = 'error';
      let msg = e.message;
      if (e instanceof ApiError && e.field) {
        err.append(el('b', { class: 'field', text: e.field }), ': ');
        if (msg.startsWith(e.field + ': ')) msg = msg.slice(e.field.length + 2);
      }
      err.append(msg);
      const line = e instanceof ApiError ? fieldLine(area.value, e.field) : -1;
      if (line >= 0) {
        area.classList.add('invalid');
        view.replaceChildren(...area.value.split('\n').map((l, i) => el('span', { class: i === line ? 'line err-line' : 'line', text: `${String(i + 1).padStart(3)}  ${l}\n` })));
        view.hidden = false;
        const start = area.value.split('\n').slice(0, line).join('\n').length + (line ? 1 : 0);
        area.focus();
        area.setSelectionRange(start, start + area.value.split('\n')[line].length);
      }
    } finally {
      btn.disabled = false;
    }
  });
  return el('section', { class: 'card submit', id: 'submit-panel' }, el('h3', { text: 'Submit a job (YAML or JSON)' }), area, el('div', { class: 'row' }, btn), err, view);
}

export function jobsPage(box, session) {
  const note = el('div', { class: 'note', hidden: true });
  const fState = el('select', { id: 'f-state', 'aria-label': 'state' }, states.map((s) => el('option', { value: s, text: s || 'any state' })));
  const fName = el('input', { id: 'f-name', placeholder: 'name', 'aria-label': 'name' });
  const fLabel = el('input', { id: 'f-label', placeholder: 'label k=v', 'aria-label': 'label' });
  const fSearch = el('input', { id: 'f-search', type: 'search', placeholder: 'search id, name, label', 'aria-label': 'search' });
  const tbody = el('tbody');
  const count = el('span', { class: 'muted' });
  let jobs = [];
  const after = (e, msg) => { message(note, e || msg, e ? 'error' : 'note'); p.now(); };

  const matches = (j) => {
    const name = fName.value.trim().toLowerCase();
    const search = fSearch.value.trim().toLowerCase();
    const label = fLabel.value.trim();
    const labels = j.labels || {};
    if (fState.value && j.state !== fState.value) return false;
    if (name && !j.name.toLowerCase().includes(name)) return false;
    if (label) {
      const [k, v] = label.split('=');
      if (!(k in labels) || (v !== undefined && labels[k] !== v)) return false;
    }
    if (search) {
      const hay = [j.id, j.name, j.state, ...Object.entries(labels).map(([k, v]) => k + '=' + v)].join(' ').toLowerCase();
      if (!hay.includes(search)) return false;
    }
    return true;
  };
  const render = () => {
    const shown = jobs.filter(matches).sort((a, b) => (b.submitted || '').localeCompare(a.submitted || ''));
    count.textContent = `${shown.length} of ${jobs.length} jobs`;
    tbody.replaceChildren(...shown.map((j) => el('tr', { 'data-job': j.id, class: 'job-row' },
      el('td', {}, el('a', { href: '#/jobs/' + enc(j.id), text: j.id })),
      el('td', { text: j.name }),
      el('td', {}, badge(j.state)),
      el('td', { text: age(j.submitted), title: j.submitted }),
      el('td', {}, progress(j)),
      el('td', { class: 'labels' }, Object.entries(j.labels || {}).map(([k, v]) => el('span', { class: 'chip', text: `${k}=${v}` }))),
      session.admin ? el('td', { class: 'actions' }, actionButtons(j.state, j.id, session, after)) : null,
    )));
    if (!shown.length) tbody.append(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: jobs.length ? 'no job matches the filters' : 'no jobs yet' })));
  };
  for (const f of [fState, fName, fLabel, fSearch]) f.addEventListener('input', render);

  const toolbar = el('div', { class: 'toolbar' }, fState, fName, fLabel, fSearch, count);
  const head = el('tr', {}, ['job', 'name', 'state', 'age', 'progress', 'labels'].map((h) => el('th', { text: h })), session.admin ? el('th', { text: 'actions' }) : null);
  let panel = null;
  const newBtn = session.admin ? el('button', { id: 'new-job', class: 'action', type: 'button', text: 'Submit a job…', onclick: () => {
    if (panel) { panel.remove(); panel = null; return; }
    panel = submitPanel(session, (id) => { location.hash = '#/jobs/' + enc(id); });
    toolbar.after(panel);
  } }) : null;
  box.append(el('div', { class: 'title' }, el('h1', { text: 'Jobs' }), newBtn), note, toolbar, el('table', { class: 'grid', id: 'jobs' }, el('thead', {}, head), tbody));

  const p = poller(async () => {
    try {
      jobs = await get('/v1/jobs');
      if (note.classList.contains('error') && note.dataset.poll) message(note, null);
      render();
    } catch (e) {
      note.dataset.poll = '1';
      message(note, e);
    }
  }, 2000);
  return p;
}
