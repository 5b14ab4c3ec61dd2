// The operator console (docs/operations.md): sign in, projector status and
// dead letters, match history, match replay. Every call is gRPC-Web to this
// page's own origin (the admin listener forwards it to the gRPC server).
// Data is only ever put in the page as text, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const tokens = {
  get access() { return sessionStorage.getItem('oof.console.access') || ''; },
  get refresh() { return sessionStorage.getItem('oof.console.refresh') || ''; },
  set(access, refresh) {
    sessionStorage.setItem('oof.console.access', access);
    sessionStorage.setItem('oof.console.refresh', refresh);
  },
  clear() { for (const k of ['access', 'refresh', 'user']) sessionStorage.removeItem('oof.console.' + k); },
};

function say(text, state = 'ok') {
  const m = $('message');
  m.textContent = text;
  m.dataset.state = state;
}

// ---- calls ----

const AUTH = '/v1.api.auth.AuthService/';
const OPS = '/oof.ops.v1.OpsService/';

// refreshTokens trades the refresh token for new tokens. Calls that fail
// together share one refresh: refresh tokens rotate on every use.
let refreshing = null;
function refreshTokens() {
  if (!refreshing) refreshing = doRefresh().finally(() => { refreshing = null; });
  return refreshing;
}

async function doRefresh() {
  if (!tokens.refresh) return false;
  try {
    const r = await grpcWeb.unary(AUTH + 'RefreshToken', schema.RefreshTokenRequest, schema.RefreshTokenResponse,
      { refreshToken: tokens.refresh });
    tokens.set(r.accessToken, r.refreshToken);
    return true;
  } catch {
    return false;
  }
}

// ops calls an OpsService method; an expired access token is refreshed once.
// opts.onMessage makes it a server stream.
async function ops(name, req, opts = {}) {
  let reply = null;
  const call = () => grpcWeb.call(OPS + name, schema[name + 'Request'], schema[name + 'Response'], req,
    { token: tokens.access, signal: opts.signal, onMessage: opts.onMessage || ((m) => { reply = m; }) });
  try {
    await call();
  } catch (e) {
    if (e.code !== 16) throw e;
    if (!(await refreshTokens())) {
      signOut('Your sign-in has ended: sign in again.');
      throw e;
    }
    await call();
  }
  return reply;
}

function signOut(why) {
  tokens.clear();
  stopStatusTimer();
  stopReplay();
  history.replaceState(null, '', location.pathname); // no hashchange: the message below stays
  route();
  if (why) say(why, 'error');
}

// ---- formatting ----

const tsMillis = (t) => (t ? t.seconds * 1000 + Math.floor(t.nanos / 1e6) : null);
const utc = (t) => (t ? new Date(tsMillis(t)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');
// Ids are UUIDv7: their first digits are a timestamp, shared by ids made
// close together, so the short form keeps the end too.
const short = (id) => (id.length > 16 ? id.slice(0, 8) + '…' + id.slice(-4) : id);

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fill(tbody, rows, render) {
  tbody.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    render(tr, r);
    tbody.appendChild(tr);
  }
}

// ---- views ----

const views = ['login', 'status', 'matches', 'match'];

function show(view) {
  for (const v of views) $('view-' + v).hidden = v !== view;
  $('nav').hidden = view === 'login';
  $('whoami').textContent = sessionStorage.getItem('oof.console.user') || '';
  $('nav-status').classList.toggle('active', view === 'status');
  $('nav-matches').classList.toggle('active', view === 'matches' || view === 'match');
  if (view !== 'status') stopStatusTimer();
  if (view !== 'match') stopReplay();
}

function route() {
  if (!tokens.access) return show('login');
  const h = location.hash;
  if (h.startsWith('#match/')) return openMatch(decodeURIComponent(h.slice('#match/'.length)));
  if (h === '#matches') { show('matches'); if (!matches.loaded) searchMatches(''); return; }
  show('status');
  loadStatus();
  startStatusTimer();
}

// ---- sign in ----

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-submit').disabled = true;
  try {
    const r = await grpcWeb.unary(AUTH + 'Login', schema.LoginRequest, schema.LoginResponse,
      { username: $('login-username').value, password: $('login-password').value });
    tokens.set(r.accessToken, r.refreshToken);
    // The ops API answers PERMISSION_DENIED to anyone but an admin.
    await ops('GetStatus', {});
    sessionStorage.setItem('oof.console.user', $('login-username').value);
    if (!location.hash || location.hash === '#') location.hash = '#status'; else route();
  } catch (e) {
    tokens.clear();
    say(e.code === 7 ? 'This account is not an admin: the console is for admins only.' : 'Sign-in failed: ' + e.message, 'error');
  } finally {
    $('login-password').value = '';
    $('login-submit').disabled = false;
  }
});

$('sign-out').addEventListener('click', () => signOut());

// ---- status and dead letters ----

let statusTimer = null;
function startStatusTimer() {
  stopStatusTimer();
  statusTimer = setInterval(() => { if ($('status-auto').checked) loadStatus(); }, 5000);
}
function stopStatusTimer() { if (statusTimer) clearInterval(statusTimer); statusTimer = null; }

async function loadStatus() {
  try {
    const [st, dl] = await Promise.all([
      ops('GetStatus', {}),
      ops('ListDeadLetters', { includeRedriven: $('dl-redriven').checked, limit: 200 }),
    ]);
    renderStatus(st);
    renderDeadLetters(dl);
    $('status-updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    say('Status: ' + e.message, 'error');
  }
}

function renderStatus(st) {
  $('kafka-error').hidden = !st.kafkaError;
  $('kafka-error').textContent = st.kafkaError ? 'Kafka could not be asked for end offsets: ' + st.kafkaError : '';
  fill($('lag-table').tBodies[0], st.lag, (tr, l) => {
    if (l.lag > 0) tr.className = 'behind';
    cell(tr, l.projector); cell(tr, l.topic, 'mono'); cell(tr, String(l.partition), 'num');
    cell(tr, String(l.storedOffset), 'num');
    cell(tr, l.endOffset < 0 ? '?' : String(l.endOffset), 'num');
    cell(tr, l.lag < 0 ? '?' : String(l.lag), 'num lag');
  });
  const relay = st.relay || { pending: 0, oldestAgeSeconds: 0 };
  $('relay').textContent = relay.pending === 0 ? 'No events waiting in the outbox.'
    : `${relay.pending} events waiting in the outbox, the oldest for ${relay.oldestAgeSeconds.toFixed(1)} s.`;
  fill($('dl-count-table').tBodies[0], st.deadLetters, (tr, d) => { cell(tr, d.projector); cell(tr, String(d.open), 'num'); });
}

function renderDeadLetters(resp) {
  $('dl-truncated').hidden = !resp.truncated;
  fill($('dl-table').tBodies[0], resp.deadLetters, (tr, d) => {
    tr.dataset.id = String(d.id);
    tr.dataset.status = d.status;
    cell(tr, String(d.id), 'num'); cell(tr, d.status); cell(tr, d.projector);
    cell(tr, `${d.topic}/${d.partition}@${d.offset}`, 'mono');
    cell(tr, d.eventType || '—', 'mono'); cell(tr, String(d.attempts), 'num');
    cell(tr, utc(d.lastFailedAt)); cell(tr, d.error.split('\n')[0], 'err');
    const td = cell(tr, '');
    if (d.status === 'dead') {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Retry';
      b.className = 'dl-retry';
      b.addEventListener('click', () => retry({ id: d.id }, b));
      td.appendChild(b);
    }
  });
}

async function retry(req, button) {
  button.disabled = true;
  try {
    const r = await ops('RetryDeadLetters', req);
    const lines = r.outcomes.map((o) => `dead letter ${o.id}: ${o.outcome}${o.error ? ' — ' + o.error.split('\n')[0] : ''}`);
    $('dl-result').textContent = (req.all ? `re-driven: ${r.redriven}, already re-driven: ${r.alreadyRedriven}, ` +
      `still failing or not tried: ${r.failed}. ` : '') + lines.join('; ');
    say(r.failed ? 'Some dead letters are still failing.' : 'Re-drive done.', r.failed ? 'error' : 'ok');
  } catch (e) {
    say('Retry: ' + e.message, 'error');
  } finally {
    button.disabled = false;
    loadStatus();
  }
}

$('status-refresh').addEventListener('click', loadStatus);
$('dl-redriven').addEventListener('change', loadStatus);
$('dl-retry-all').addEventListener('click', (ev) => retry({ all: true }, ev.currentTarget));

// ---- match history ----

const matches = { loaded: false, cursor: '', page: 1 };

function localTimestamp(value) {
  if (!value) return null;
  const ms = new Date(value).getTime(); // datetime-local: the browser's time zone
  if (Number.isNaN(ms)) throw new Error('not a time: ' + value);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

async function searchMatches(cursor, page = 1) {
  try {
    const resp = await ops('ListMatches', {
      gameId: $('f-game').value.trim(), userId: $('f-player').value.trim(),
      endedSince: localTimestamp($('f-since').value), endedUntil: localTimestamp($('f-until').value),
      limit: Number($('f-limit').value) || 20, cursor,
    });
    matches.loaded = true;
    matches.cursor = resp.nextCursor;
    matches.page = page;
    fill($('match-table').tBodies[0], resp.matches, (tr, m) => {
      tr.dataset.session = m.sessionId;
      tr.title = 'open match ' + m.sessionId;
      cell(tr, short(m.sessionId), 'mono'); cell(tr, short(m.gameId), 'mono');
      cell(tr, m.userIds.map(short).join(', '), 'mono');
      cell(tr, utc(m.startedAt)); cell(tr, utc(m.endedAt)); cell(tr, String(m.eventCount), 'num');
      tr.addEventListener('click', () => { location.hash = '#match/' + encodeURIComponent(m.sessionId); });
    });
    $('match-next').disabled = !resp.nextCursor;
    $('match-first').disabled = page === 1;
    $('match-page').textContent = resp.matches.length ? `page ${page}` : 'no matches';
  } catch (e) {
    say('Match history: ' + e.message, 'error');
  }
}

$('match-search').addEventListener('submit', (ev) => { ev.preventDefault(); searchMatches(''); });
$('match-next').addEventListener('click', () => searchMatches(matches.cursor, matches.page + 1));
$('match-first').addEventListener('click', () => searchMatches(''));

// Deferred scripts have all run (match.js too) when the document is loaded.
document.addEventListener('DOMContentLoaded', () => {
  window.addEventListener('hashchange', () => { say(''); route(); });
  route();
});
