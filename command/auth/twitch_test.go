package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Which Twitch applications may log users in is the operator's decision:
// with no allow-list the feature is off, and other apps are refused before
// Twitch is even asked.
func TestTwitchVerifierAllowList(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(`{"client_id":"app-1","login":"x","user_id":"42"}`))
	}))
	defer srv.Close()
	cases := []struct {
		name    string
		allowed []string
		client  string
		want    apperr.Kind
		ok      bool
	}{
		{"no allow-list", nil, "app-1", apperr.KindFailedPrecondition, false},
		{"app not allowed", []string{"app-2"}, "app-1", apperr.KindPermissionDenied, false},
		{"allowed app", []string{"app-1"}, "app-1", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			id, err := NewTwitchVerifier(srv.URL, tc.allowed, nil).Verify(context.Background(), "tok", tc.client, "42")
			if tc.ok {
				if err != nil || id.UserID != "42" {
					t.Fatalf("Verify = %+v, %v", id, err)
				}
				return
			}
			if !apperr.Is(err, tc.want) {
				t.Fatalf("err = %v, want kind %v", err, tc.want)
			}
			if calls.Load() != before {
				t.Fatal("Twitch was asked about a token of an app that is not allowed")
			}
		})
	}
}
