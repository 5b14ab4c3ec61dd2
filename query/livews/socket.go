package livews

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/middleware"
	"github.com/oof-gg/platform/pkg/validate"
	querylive "github.com/oof-gg/platform/query/live"
)

// Close codes beyond RFC 6455's: 4401 is the token ending (expired or its
// login revoked), the WebSocket twin of HTTP 401.
const statusTokenEnded websocket.StatusCode = 4401

const maxAfterLen = 64

// fellBehind is the close reason of a member the hub dropped.
const fellBehind = "fell behind the session's events; reconnect with ?after=<last event id>"

var (
	errShutdown = errors.New("server shutting down")
	errAbuse    = errors.New("too many refused frames")
	errNoPong   = errors.New("no pong")
)

// socket is one member's WebSocket. run's goroutine owns the connection's
// writes and the subscription; a reader goroutine decodes frames, publishes
// events and asks for subscriptions.
type socket struct {
	g      *Gateway
	caller auth.Principal
	// after is the resume point (?after=), used by the first subscription.
	after string

	ctx    context.Context
	cancel context.CancelCauseFunc

	session string          // the subscribed session (writer's; before run, the request's)
	sub     *querylive.Conn // its hub subscription
	// gameID and resumed describe the last subscription opened, for the
	// conn hook (presence); hooked is what the hook was told, until Closed.
	gameID  string
	resumed bool
	hooked  *querylive.ConnInfo
	// clean: the client closed with a close frame (presence leaves at once
	// instead of waiting for the heartbeat to expire).
	clean bool

	code websocket.StatusCode // how the socket ended (for metrics)

	subs chan subscription // reader -> writer: a new subscription
	out  chan []byte       // reader -> writer: frames to send (errors, acks)
	done chan struct{}     // closed when run ends
}

type subscription struct {
	session string
	conn    *querylive.Conn
}

func (s *socket) shutdown() { s.cancel(errShutdown) }

// open subscribes to sessionID (the caller must be allowed to take part):
// errors are apperr, to be answered as an HTTP status or an error frame.
func (s *socket) open(ctx context.Context, sessionID string) (*querylive.Conn, error) {
	var c validate.Checks
	c.ID("session id", sessionID)
	if len(s.after) > maxAfterLen {
		c.Add("after", "must be an event id (at most 64 characters)")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	gameID, err := s.g.Publisher.CheckMember(ctx, s.caller, sessionID)
	if err != nil {
		return nil, err
	}
	conn, err := s.g.Hub.Subscribe(ctx, sessionID, s.after)
	if err != nil {
		return nil, err
	}
	s.gameID, s.resumed = gameID, s.after != ""
	s.after = ""
	return conn, nil
}

// subscribe is open before the upgrade.
func (s *socket) subscribe(ctx context.Context, sessionID string) error {
	conn, err := s.open(ctx, sessionID)
	if err != nil {
		return err
	}
	s.session, s.sub = sessionID, conn
	return nil
}

func (s *socket) leave() {
	if s.hooked != nil {
		s.g.Hook.Closed(*s.hooked, s.clean)
		s.hooked = nil
	}
	if s.sub != nil {
		s.g.Hub.Leave(s.session, s.sub)
		s.sub = nil
	}
}

// run serves the socket until it closes, then closes it with the reason.
func (s *socket) run(ws *websocket.Conn, token string) {
	defer s.leave()
	ctx, stop := s.g.Guard.Watch(s.ctx, token)
	defer stop()
	s.subs, s.out, s.done = make(chan subscription), make(chan []byte, 16), make(chan struct{})
	defer close(s.done)
	// Reads have a context of their own: a cancelled read closes the
	// connection at once, and the close handshake below needs the reader.
	readCtx, stopReading := context.WithCancel(context.WithoutCancel(ctx))
	defer stopReading()
	readErr := make(chan error, 1)
	go func() { readErr <- s.read(ctx, readCtx, ws, s.session) }()
	go s.ping(ctx, ws)

	write := func(b []byte) error {
		// Not ended by the guard: a cancelled write closes the connection
		// at once, before the close frame that says why.
		wctx, cancel := context.WithTimeout(readCtx, s.g.Limits.WriteTimeout)
		defer cancel()
		return ws.Write(wctx, websocket.MessageText, b)
	}
	welcome := func() error {
		if err := write(subscribedFrame(s.session)); err != nil {
			return err
		}
		greeting, err := s.hookOpened(ctx)
		if err != nil {
			return err
		}
		for _, e := range greeting {
			if err := write(eventFrame(e)); err != nil {
				return err
			}
		}
		for _, e := range s.sub.Backlog {
			if s.sub.Fresh(e) {
				if err := write(eventFrame(e.Event)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if s.sub != nil {
		if err := welcome(); err != nil {
			s.closeAfter(ws, ctx, err)
			return
		}
	}
	for {
		var events <-chan querylive.Entry
		var dropped <-chan struct{}
		if s.sub != nil {
			events, dropped = s.sub.C(), s.sub.Done()
		}
		var err error
		select {
		case e := <-events:
			select {
			case <-dropped: // after a blocked write, the drop comes first
				s.close(ws, websocket.StatusTryAgainLater, fellBehind)
				return
			default:
			}
			if s.sub.Fresh(e) {
				err = write(eventFrame(e.Event))
			}
		case <-dropped:
			s.close(ws, websocket.StatusTryAgainLater, fellBehind)
			return
		case n := <-s.subs:
			// Switching sessions is leaving the old one on purpose.
			s.clean = true
			s.leave()
			s.clean = false
			s.session, s.sub = n.session, n.conn
			err = welcome()
		case b := <-s.out:
			err = write(b)
		case err := <-readErr:
			st := websocket.CloseStatus(err)
			s.clean = st == websocket.StatusNormalClosure || st == websocket.StatusGoingAway
			s.closeRead(ws, err)
			return
		case <-ctx.Done():
			s.closeAfter(ws, ctx, nil)
			return
		}
		if err != nil {
			// A client's close frame often fails a write before the reader
			// reports it: give the reader a moment, so a clean close counts
			// as clean (presence leaves at once instead of expiring).
			select {
			case rerr := <-readErr:
				st := websocket.CloseStatus(rerr)
				s.clean = st == websocket.StatusNormalClosure || st == websocket.StatusGoingAway
				s.closeRead(ws, rerr)
				return
			case <-time.After(100 * time.Millisecond):
			}
			s.closeAfter(ws, ctx, err)
			return
		}
	}
}

// closeAfter closes the socket after the guard, a shutdown or a failed
// write.
func (s *socket) closeAfter(ws *websocket.Conn, ctx context.Context, werr error) {
	if st := middleware.Ended(ctx); st != nil {
		code := statusTokenEnded
		if st.Code() != codes.Unauthenticated {
			code = websocket.StatusTryAgainLater
		}
		s.close(ws, code, st.Message())
		return
	}
	if errors.Is(context.Cause(s.ctx), errShutdown) {
		s.close(ws, websocket.StatusGoingAway, errShutdown.Error())
		return
	}
	if werr != nil && s.g.Log != nil {
		s.g.Log.Debug("websocket write failed", "user_id", s.caller.UserID, "err", werr)
	}
	// A write that timed out: the client is not taking frames.
	s.drop(ws)
}

// closeRead closes the socket after the reader stopped.
func (s *socket) closeRead(ws *websocket.Conn, err error) {
	switch {
	case errors.Is(err, errAbuse):
		s.close(ws, websocket.StatusPolicyViolation, errAbuse.Error())
	case websocket.CloseStatus(err) != -1:
		// The client closed; the library has answered.
		s.code = websocket.CloseStatus(err)
	default:
		s.drop(ws)
	}
}

// read decodes the client's frames until the connection ends or the
// client has had too many frames refused.
func (s *socket) read(ctx, readCtx context.Context, ws *websocket.Conn, session string) error {
	lim := s.g.Limits
	var strikes []time.Time
	refuse := func(err error, ref string) error {
		now := time.Now()
		for len(strikes) > 0 && now.Sub(strikes[0]) > lim.StrikeWindow {
			strikes = strikes[1:]
		}
		strikes = append(strikes, now)
		if len(strikes) >= lim.Strikes {
			return errAbuse
		}
		return s.send(errorFrame(err, ref))
	}
	for {
		typ, r, err := ws.Reader(readCtx)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(r, int64(lim.MaxFrameBytes)+1))
		if err != nil {
			return err
		}
		if len(b) > lim.MaxFrameBytes {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			err = apperr.ResourceExhausted("frame too large: at most "+itoa(lim.MaxFrameBytes)+" bytes", 0)
			if err := refuse(err, ""); err != nil {
				return err
			}
			continue
		}
		if typ != websocket.MessageText {
			if err := refuse(apperr.Invalid("frame", "text frames (JSON) only"), ""); err != nil {
				return err
			}
			continue
		}
		f, err := decodeFrame(b)
		if err == nil && f.subscribe != "" {
			session, err = s.resubscribe(ctx, session, f.subscribe)
		} else if err == nil {
			err = s.publish(ctx, session, f)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ref := ""
			if f.event != nil {
				ref = f.event.GetId()
			}
			if err := refuse(err, ref); err != nil {
				return err
			}
		}
	}
}

// resubscribe handles a subscribe frame: the current session is
// acknowledged again; another one replaces it.
func (s *socket) resubscribe(ctx context.Context, current, sessionID string) (string, error) {
	if sessionID == current {
		return current, s.send(subscribedFrame(current))
	}
	conn, err := s.open(ctx, sessionID)
	if err != nil {
		return current, err
	}
	select {
	case s.subs <- subscription{session: sessionID, conn: conn}:
		return sessionID, nil
	case <-s.done:
		s.g.Hub.Leave(sessionID, conn)
		return current, io.EOF
	}
}

func (s *socket) publish(ctx context.Context, session string, f frame) error {
	if session == "" {
		return apperr.FailedPrecondition(`subscribe first: {"type":"subscribe","instance_id":"<session id>"} (or open /ws/<session id>)`)
	}
	f.event.SessionId = proto.String(session)
	_, err := s.g.Publisher.Publish(ctx, s.caller, f.event)
	return err
}

// send hands a frame to the writer.
func (s *socket) send(b []byte) error {
	select {
	case s.out <- b:
		return nil
	case <-s.done:
		return io.EOF
	}
}

func (s *socket) close(ws *websocket.Conn, code websocket.StatusCode, reason string) {
	s.code = code
	_ = ws.Close(code, reason)
}

// drop ends the connection without a close handshake (the client is not
// reading, or already gone).
func (s *socket) drop(ws *websocket.Conn) {
	s.code = websocket.StatusAbnormalClosure
	_ = ws.CloseNow()
}

// ping checks an idle peer is still there; a dead one (no FIN ever came)
// would otherwise hold its subscription until its token expires.
func (s *socket) ping(ctx context.Context, ws *websocket.Conn) {
	if s.g.Limits.PingInterval <= 0 {
		return
	}
	t := time.NewTicker(s.g.Limits.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Not ended by the guard either (see run's write).
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.g.Limits.WriteTimeout)
		err := ws.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.cancel(errNoPong)
			return
		}
	}
}
