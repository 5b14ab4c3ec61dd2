package score

import (
	"sync"

	"google.golang.org/protobuf/proto"

	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
)

// A board's top page is read far more often than the board changes, so the
// reader keeps each top page it built with the board's version (a token the
// projector replaces on every write to the board, scores.VKey). The page
// script compares the kept version inside Redis: while it is current the
// page is answered as kept, without reading the members or the names again;
// otherwise the script returns the page as usual. So a kept page is never
// older than the board: the check runs with every read, in the same round
// trip as the page itself.

// maxKeptPages bounds the pages kept (a few per busy board; a page of 100
// is ~40 KB with its encoding, so at most ~40 MB); when full the cache
// starts again empty.
const maxKeptPages = 1024

type keptPage struct {
	version string
	lb      *scorepb.Leaderboard // shared by readers: never modified
	next    string

	// The gRPC answer is encoded once, when first sent, and every later
	// reader of the page is sent the same bytes.
	once sync.Once
	wire []byte
}

// response is the page's StandardResponse (ok builds it). Its encoding is
// kept as the message's unknown fields, which a message is marshalled with
// as they are: on the wire it is the page itself, not encoded again.
func (p *keptPage) response(ok func(*scorepb.Leaderboard) *scorepb.StandardResponse) *scorepb.StandardResponse {
	p.once.Do(func() {
		if b, err := proto.Marshal(ok(p.lb)); err == nil {
			p.wire = b
		}
	})
	if p.wire == nil {
		return ok(p.lb)
	}
	r := &scorepb.StandardResponse{}
	r.ProtoReflect().SetUnknown(p.wire)
	return r
}

type pageCache struct {
	mu    sync.Mutex
	pages map[pageKey]*keptPage
}

// pageKey names a top page: the board and the page size.
type pageKey struct {
	board string
	limit int
}

func (c *pageCache) get(k pageKey) *keptPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pages[k]
}

func (c *pageCache) put(k pageKey, p *keptPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil || len(c.pages) >= maxKeptPages {
		c.pages = make(map[pageKey]*keptPage)
	}
	c.pages[k] = p
}

// nameCache keeps player names in the process (names do not change, as for
// the Redis name cache), so a page rebuilt after a board changed reads its
// names without a Redis round trip.
type nameCache struct {
	mu    sync.RWMutex
	names map[string]string
}

// maxKeptNames bounds the names kept; when full the cache starts again.
const maxKeptNames = 100_000

func (c *nameCache) lookup(ids []string, out map[string]string) (missing []string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, id := range ids {
		if n, ok := c.names[id]; ok {
			out[id] = n
		} else {
			missing = append(missing, id)
		}
	}
	return missing
}

func (c *nameCache) add(found map[string]string) {
	if len(found) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names == nil || len(c.names)+len(found) > maxKeptNames {
		c.names = make(map[string]string, len(found))
	}
	for id, n := range found {
		c.names[id] = n
	}
}
