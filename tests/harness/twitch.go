package harness

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// FakeTwitch stands in for Twitch's OAuth validate endpoint, answering as the
// real one does for the tokens tests register with it.
type FakeTwitch struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens map[string]TwitchToken
	down   bool
}

// TwitchToken is what the endpoint says a token belongs to.
type TwitchToken struct {
	ClientID string `json:"client_id"`
	Login    string `json:"login"`
	UserID   string `json:"user_id"`
}

// NewFakeTwitch starts the stand-in on loopback.
func NewFakeTwitch() *FakeTwitch {
	f := &FakeTwitch{tokens: map[string]TwitchToken{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.validate))
	return f
}

// URL is the validate endpoint's address.
func (f *FakeTwitch) URL() string { return f.srv.URL + "/oauth2/validate" }

// Close stops the server.
func (f *FakeTwitch) Close() { f.srv.Close() }

// AddToken makes token valid for who.
func (f *FakeTwitch) AddToken(token string, who TwitchToken) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = who
}

// SetDown makes the endpoint answer 503.
func (f *FakeTwitch) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *FakeTwitch) validate(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	who, known := f.tokens[token]
	if r.URL.Path != "/oauth2/validate" || !ok || !known {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"status":401,"message":"invalid access token"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"client_id": who.ClientID, "login": who.Login, "user_id": who.UserID,
		"scopes": []string{}, "expires_in": 3600,
	})
}
