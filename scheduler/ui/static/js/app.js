// The app: token prompt, role, hash routing, polling pages.
import { get, token, setToken, onUnauthorized } from './api.js';
import { el } from './util.js';
import { jobsPage } from './jobs.js';
import { jobPage } from './job.js';
import { agentsPage } from './agents.js';
import { harvestPage } from './harvest.js';

// session is what pages know of the caller: admin decides whether action
// buttons are drawn at all.
export const session = { name: '', role: '', admin: false };

const main = () => document.getElementById('main');
let current = null; // the page shown: {stop()}

function showLogin(reason) {
  stop();
  main().replaceChildren();
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = reason || '';
  document.getElementById('signout').hidden = true;
  document.getElementById('who').textContent = '';
  const input = document.getElementById('token');
  input.value = '';
  input.focus();
}

async function signIn() {
  try {
    const me = await get('/v1/whoami');
    session.name = me.name;
    session.role = me.role;
    session.admin = me.role === 'admin';
  } catch (e) {
    if (e.status !== 401) showLogin('cannot check the token: ' + e.message);
    return false;
  }
  document.getElementById('login').hidden = true;
  document.getElementById('signout').hidden = false;
  document.getElementById('who').textContent = `${session.name} (${session.role})`;
  document.body.classList.toggle('readonly', !session.admin);
  return true;
}

async function health() {
  try {
    const r = await fetch('/healthz', { cache: 'no-store' });
    const h = await r.json();
    const box = document.getElementById('scheduler');
    box.textContent = h.leader ? 'leader' : (h.leaderURL ? 'standby (leader ' + h.leaderURL + ')' : 'standby, no leader elected');
    box.className = h.leader ? 'muted' : 'warn';
  } catch { /* shown by the pages' own errors */ }
}

function stop() {
  if (current && current.stop) current.stop();
  current = null;
}

function route() {
  stop();
  if (!token() || !session.role) return;
  const hash = location.hash.replace(/^#\/?/, '') || 'jobs';
  const parts = hash.split('/').map(decodeURIComponent);
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.nav === parts[0]);
  const box = el('div', { class: 'page' });
  main().replaceChildren(box);
  if (parts[0] === 'jobs' && parts[1]) current = jobPage(box, parts[1], session);
  else if (parts[0] === 'agents') current = agentsPage(box, session);
  else if (parts[0] === 'harvest') current = harvestPage(box, session);
  else current = jobsPage(box, session);
}

onUnauthorized((reason) => {
  setToken('');
  session.role = '';
  showLogin('Token refused: ' + reason);
});

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = document.getElementById('token').value.trim();
    if (!t) return;
    setToken(t);
    if (await signIn()) route();
  });
  document.getElementById('signout').addEventListener('click', () => {
    setToken('');
    session.role = '';
    showLogin('');
  });
  health();
  setInterval(health, 10000);
  if (!token()) { showLogin(''); return; }
  if (await signIn()) route();
});
