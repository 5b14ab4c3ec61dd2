// Paddle: a tiny two-player game on the oof.gg platform. Signing in and
// setting up the session use gRPC-Web (grpcweb.js); play uses only the web
// SDK's WebSocket protocol: JSON frames {type, data} both ways.
(() => {
  const q = new URLSearchParams(location.search);
  const api = q.get('api') || 'http://127.0.0.1:8080';
  const socketUrl = q.get('ws') || api.replace(/^http/, 'ws') + '/ws';
  const game = q.get('game');
  let session = q.get('session');
  const user = q.get('user') || 'paddle_' + Math.random().toString(36).slice(2, 8);
  const password = q.get('password') || 'correct horse battery';

  const $ = (id) => document.getElementById(id);
  const status = $('status');
  const canvas = $('court'), g = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height, PW = 12, PH = 60;

  const setStatus = (state, text) => { status.dataset.state = state; status.textContent = text; };
  const log = (text) => {
    const li = document.createElement('li');
    li.textContent = text;
    $('log').prepend(li);
    while ($('log').children.length > 12) $('log').lastChild.remove();
  };

  // players: player id -> {y, name}; what the session's events say.
  const players = {};
  let me = null, token = null, ws = null, lastId = '', tries = 0, registered = false;

  function draw() {
    g.fillStyle = '#101820'; g.fillRect(0, 0, W, H);
    g.strokeStyle = '#345'; g.setLineDash([6, 6]);
    g.beginPath(); g.moveTo(W / 2, 0); g.lineTo(W / 2, H); g.stroke(); g.setLineDash([]);
    // Sides are fixed by player id, so both pages agree without a server.
    Object.keys(players).sort().slice(0, 2).forEach((id, i) => {
      const p = players[id], x = i === 0 ? 20 : W - 20 - PW;
      g.fillStyle = id === me ? '#f2c14e' : '#5bc0eb';
      g.fillRect(x, p.y, PW, PH);
      g.font = '13px system-ui'; g.textAlign = i === 0 ? 'left' : 'right';
      g.fillText(p.name + ' (' + Math.round(p.y) + ')', i === 0 ? 40 : W - 40, 20);
    });
  }

  function send(type, data) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, data }));
  }

  // move places my paddle and tells the session (the tests call it too).
  let lastSent = 0, pending = null;
  function move(y) {
    y = Math.max(0, Math.min(H - PH, Math.round(y)));
    players[me] = { ...(players[me] || { name: user }), y };
    draw();
    const now = Date.now();
    clearTimeout(pending);
    // At most ~16 moves a second: well within the live rate limit.
    if (now - lastSent < 60) { pending = setTimeout(() => move(y), 60 - (now - lastSent)); return; }
    lastSent = now;
    send('UPDATE_PADDLE', { x: 0, y, width: PW, height: PH, playerName: user });
  }

  function onFrame(f) {
    if (f.id) lastId = f.id;
    switch (f.type) {
      case 'subscribed':
        setStatus('playing', 'playing as ' + user + ' in session ' + session);
        if (!registered) { registered = true; send('REGISTER_PLAYER', { playerName: user }); }
        break;
      case 'REGISTER_PLAYER':
        players[f.player_id] = players[f.player_id] || { y: (H - PH) / 2, name: f.data.playerName };
        players[f.player_id].name = f.data.playerName;
        // Answer a newcomer with where I am.
        if (f.player_id !== me && players[me]) send('UPDATE_PADDLE', { x: 0, y: players[me].y, width: PW, height: PH, playerName: user });
        log(f.data.playerName + ' joined');
        break;
      case 'UPDATE_PADDLE':
        players[f.player_id] = { y: f.data.y, name: f.data.playerName };
        if (f.player_id !== me) log(f.data.playerName + ' moved to ' + f.data.y);
        break;
      case 'error':
        log('error: ' + f.error);
        break;
    }
    draw();
  }

  // connect opens the socket as the SDK does: <socketUrl>/<session>?token=,
  // plus after=<last event id> when reconnecting, so nothing is missed.
  function connect() {
    let url = socketUrl + '/' + session + '?token=' + encodeURIComponent(token);
    if (lastId) url += '&after=' + encodeURIComponent(lastId);
    ws = new WebSocket(url);
    ws.onopen = () => { tries = 0; ws.send(JSON.stringify({ type: 'subscribe', instance_id: session })); };
    ws.onmessage = (e) => onFrame(JSON.parse(e.data));
    ws.onclose = (e) => {
      if (e.code === 1000) return;
      if (e.code === 4401 || tries >= 5) {
        setStatus('error', 'disconnected (' + e.code + ' ' + (e.reason || 'no reason') + '); reload to sign in again');
        return;
      }
      tries++;
      setStatus('reconnecting', 'reconnecting (' + (e.reason || e.code) + ')…');
      setTimeout(connect, 1000 * tries);
    };
  }

  async function signIn() {
    const { msg, read, text, call } = grpcWeb;
    try {
      await call(api, 'v1.api.auth.AuthService/Register', msg([1, user], [2, user + '@example.com'], [3, password]));
    } catch (e) {
      if (e.code !== 6) throw e; // ALREADY_EXISTS: the user signs in again
    }
    const login = read(await call(api, 'v1.api.auth.AuthService/Login', msg([1, user], [2, password])));
    token = text(login[1][0]);
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    me = claims.sub;
  }

  async function setUp() {
    const { msg, read, text, call } = grpcWeb;
    if (session) {
      // JoinLeave{user_id: me, game_id, action: JOIN, session_id}
      await call(api, 'v1.api.common.GameService/JoinLeave', msg([1, me], [2, game || ''], [5, session]), token);
      return;
    }
    if (!game) throw new Error('open with ?game=<game id> to host, or ?session=<id>&game=<id> to join');
    // CreateSession{game_id, user_ids: [me]}: StandardResponse.session (6).id (1)
    const resp = read(await call(api, 'v1.api.common.GameService/CreateSession', msg([1, game], [2, me]), token));
    session = text(read(resp[6][0])[1][0]);
  }

  (async () => {
    status.dataset.state = 'signing-in';
    draw();
    try {
      await signIn();
      await setUp();
    } catch (e) {
      setStatus('error', 'ERROR: ' + e.message);
      return;
    }
    status.dataset.userId = me;
    status.dataset.session = session;
    const invite = new URL(location.href);
    invite.search = new URLSearchParams({ api, ws: socketUrl, game: game || '', session }).toString();
    $('invite').href = invite.toString();
    $('invite').textContent = 'invite link (open in another window)';
    players[me] = { y: (H - PH) / 2, name: user };
    connect();
  })();

  canvas.addEventListener('mousemove', (e) => move(e.offsetY - PH / 2));
  window.addEventListener('keydown', (e) => {
    if (!players[me]) return;
    if (e.key === 'ArrowUp') move(players[me].y - 15);
    if (e.key === 'ArrowDown') move(players[me].y + 15);
  });
  window.paddle = { move, players };
})();
