// The match view and its replay (docs/operations.md, Web console): the
// match's details (GetMatch) and a timeline that fills as ReplayMatch
// streams the events at the chosen pace. Uses console.js's helpers.
'use strict';

let current = null; // the open match
let replay = null; // the playing replay

function detail(dl, name, value) {
  const dt = document.createElement('dt'), dd = document.createElement('dd');
  dt.textContent = name;
  dd.textContent = value;
  dl.append(dt, dd);
}

const rangeText = (r) => (r ? `${r.topic} partition ${r.partition}, offsets ${r.firstOffset}–${r.lastOffset} (${r.count} records)` : 'none');

async function openMatch(id) {
  show('match');
  stopReplay();
  replay = null;
  $('m-id').textContent = id;
  $('m-details').replaceChildren();
  resetTimeline();
  current = null;
  try {
    const m = (await ops('GetMatch', { sessionId: id })).match;
    current = m;
    const dl = $('m-details');
    detail(dl, 'session', m.sessionId);
    detail(dl, 'game', m.gameId);
    detail(dl, 'players', m.userIds.join(', ') || '—');
    detail(dl, 'started', utc(m.startedAt));
    detail(dl, 'ended', utc(m.endedAt));
    detail(dl, 'final state', m.finalState);
    detail(dl, 'events', String(m.eventCount));
    detail(dl, 'session events', rangeText(m.sessionEvents));
    detail(dl, 'live events', rangeText(m.liveEvents));
  } catch (e) {
    say('Match: ' + e.message, 'error');
  }
}

function setReplayState(state, text) {
  const s = $('replay-state');
  s.dataset.state = state;
  s.textContent = text;
  $('replay-play').disabled = state === 'playing';
  $('replay-stop').disabled = state !== 'playing';
}

function resetTimeline() {
  $('timeline').replaceChildren();
  for (const m of $('track').querySelectorAll('.mark')) m.remove();
  $('playhead').style.left = '0%';
  setReplayState('idle', 'not played');
}

function stopReplay() {
  if (replay) replay.ctrl.abort();
}

// The track spans from the first replayed event to the match's end.
function trackPercent(ms) {
  const end = Math.max(tsMillis(current.endedAt), replay.lastMs);
  const span = Math.max(end - replay.t0, 1);
  return Math.min(100, (100 * (ms - replay.t0)) / span);
}

// describe is a one-line summary of a replayed event's data (the whole
// event is one click away): who did what in a live event, the state of a
// lifecycle one.
function describe(data, raw) {
  if (!data) return raw;
  const attrs = (a) => Object.entries(a || {}).map(([k, v]) => `${k}=${Object.values(v)[0]}`).join(' ');
  if (data.event && data.event.eventName !== undefined) {
    const e = data.event;
    return [e.eventName, e.playerId ? 'by ' + short(e.playerId) : '', e.type || '', attrs(e.attributes)].filter(Boolean).join(' · ');
  }
  if (data.session) {
    const s = data.session;
    // protojson leaves out the zero enum value (STATE_CREATED).
    const state = s.state || 'STATE_CREATED';
    return [data.previousState ? `${data.previousState} → ${state}` : state, `${(s.userIds || []).length} players`,
      data.updatedBy ? 'by ' + short(data.updatedBy) : ''].filter(Boolean).join(' · ');
  }
  return raw;
}

function addEvent(ev) {
  const ms = tsMillis(ev.time);
  if (replay.t0 === null) replay.t0 = ms;
  replay.lastMs = Math.max(replay.lastMs, ms);
  replay.count++;
  const li = document.createElement('li');
  li.className = 'new';
  li.dataset.topic = ev.topic;
  li.dataset.offset = String(ev.offset);
  li.dataset.type = ev.type;
  const at = document.createElement('span');
  at.className = 'at';
  at.textContent = '+' + ((ms - replay.t0) / 1000).toFixed(3) + ' s';
  const type = document.createElement('span');
  type.className = 'type';
  type.textContent = ev.type.replace(/^oof\.events\.v1\./, '') || '(no type)';
  const where = document.createElement('span');
  where.className = 'mono';
  where.textContent = `${ev.topic}/${ev.partition}@${ev.offset}`;
  const body = document.createElement('details');
  const summary = document.createElement('summary');
  summary.className = 'mono';
  const pre = document.createElement('pre');
  let data = null;
  try { data = JSON.parse(ev.dataJson); pre.textContent = JSON.stringify(data, null, 2); } catch { pre.textContent = ev.dataJson; }
  summary.textContent = ev.error ? 'not decoded: ' + ev.error : describe(data, ev.dataJson);
  body.append(summary, pre);
  li.append(at, type, where, body);
  $('timeline').appendChild(li);
  const mark = document.createElement('div');
  mark.className = 'mark' + (/session/.test(ev.topic) ? ' session' : '');
  mark.title = type.textContent + ' ' + at.textContent;
  mark.style.left = trackPercent(ms) + '%';
  $('track').appendChild(mark);
  setReplayState('playing', `playing: ${replay.count} events`);
}

// The playhead moves with the replay's clock: speed × the time since the
// first event arrived (with no pauses, it follows the last event).
function animate() {
  if (!replay || replay.t0 === null) return;
  const pos = replay.speed > 0 ? replay.t0 + (performance.now() - replay.firstAt) * replay.speed : replay.lastMs;
  $('playhead').style.left = trackPercent(Math.min(pos, Math.max(tsMillis(current.endedAt), replay.lastMs))) + '%';
  if (replay.running) requestAnimationFrame(animate);
}

$('replay-play').addEventListener('click', async () => {
  if (!current) return;
  stopReplay();
  resetTimeline();
  const speed = Number($('replay-speed').value);
  const r = { ctrl: new AbortController(), speed, t0: null, lastMs: 0, firstAt: 0, count: 0, running: true };
  replay = r;
  setReplayState('playing', 'waiting for the first event…');
  delete $('replay-state').dataset.elapsedMs;
  try {
    await ops('ReplayMatch', { sessionId: current.sessionId, speed }, {
      signal: r.ctrl.signal,
      onMessage: (m) => {
        if (replay !== r) return;
        const first = r.t0 === null;
        addEvent(m.event);
        if (first) { r.firstAt = performance.now(); requestAnimationFrame(animate); }
      },
    });
    if (replay === r) {
      setReplayState('done', `done: ${r.count} events replayed`);
      // How long the events took to arrive after the first: the pace the
      // server kept (tests/browser checks it against the speed).
      $('replay-state').dataset.elapsedMs = String(r.count ? Math.round(performance.now() - r.firstAt) : 0);
    }
  } catch (e) {
    if (replay !== r) return;
    if (r.ctrl.signal.aborted) setReplayState('stopped', `stopped after ${r.count} events`);
    else { setReplayState('error', 'replay failed: ' + e.message); say('Replay: ' + e.message, 'error'); }
  } finally {
    r.running = false;
    if (replay === r) {
      if (current && r.count) $('playhead').style.left = trackPercent(r.lastMs) + '%';
      replay = null;
    }
  }
});

$('replay-stop').addEventListener('click', stopReplay);

