// The scheduler's HTTP API, called with the token kept in sessionStorage.

const tokenKey = 'gleaner.token';

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field ? body.field : '';
    this.leader = body && body.leader ? body.leader : '';
  }
}

export function token() { return sessionStorage.getItem(tokenKey) || ''; }
export function setToken(t) {
  if (t) sessionStorage.setItem(tokenKey, t); else sessionStorage.removeItem(tokenKey);
}

let unauthorized = () => {};
// onUnauthorized sets what a 401 does (the app asks for a token again).
export function onUnauthorized(f) { unauthorized = f; }

function headersFor(extra) {
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

async function parse(resp) {
  const text = await resp.text();
  if (!text) return {};
  try { return JSON.parse(text); } catch { return { error: text.slice(0, 500) }; }
}

// call sends one request. A write that reached a standby is answered 307
// to the leader and fetch follows it, Authorization kept, when the leader
// is on this origin; a leader elsewhere cannot be reached from this page
// (the browser drops the token and the page may only call its origin), so
// the error names the leader, whose own UI takes the write.
export async function call(method, path, opts = {}) {
  const init = { method, headers: headersFor(opts.headers), cache: 'no-store', redirect: 'follow', signal: opts.signal };
  if (opts.body !== undefined) {
    init.body = opts.body;
    init.headers['Content-Type'] = opts.contentType || 'application/json';
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError' || method === 'GET') throw e.name === 'AbortError' ? e : new ApiError(0, { error: 'cannot reach the scheduler: ' + e.message });
    const again = await fetch(path, { ...init, headers: { ...init.headers, 'X-Gleaner-No-Redirect': '1' } });
    const body = await parse(again);
    throw new ApiError(again.status, { ...body, error: body.leader ? `this scheduler is a standby; the leader is ${body.leader}` : (body.error || 'request failed') });
  }
  if (opts.raw && resp.ok) return resp;
  const body = await parse(resp);
  if (resp.status === 401) {
    unauthorized(body.error || 'the token was refused');
    throw new ApiError(401, body);
  }
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body;
}

export const get = (path, opts) => call('GET', path, opts);
export const post = (path, body, opts = {}) => call('POST', path, { ...opts, body });

export const enc = encodeURIComponent;
