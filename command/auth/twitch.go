package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/validate"
)

// TwitchIdentity is what Twitch says a Helix access token belongs to.
type TwitchIdentity struct {
	ClientID string `json:"client_id"`
	Login    string `json:"login"`
	UserID   string `json:"user_id"`
}

// TwitchVerifier asks Twitch's OAuth validate endpoint who a token is for.
type TwitchVerifier struct {
	validateURL      string
	allowedClientIDs []string
	http             *http.Client
}

// NewTwitchVerifier returns a verifier calling validateURL that accepts
// only tokens issued to allowedClientIDs (none: Twitch login is off).
func NewTwitchVerifier(validateURL string, allowedClientIDs []string, client *http.Client) *TwitchVerifier {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &TwitchVerifier{validateURL: validateURL, allowedClientIDs: allowedClientIDs, http: client}
}

// Verify checks that token is live and was issued to clientID for userID.
func (v *TwitchVerifier) Verify(ctx context.Context, token, clientID, userID string) (TwitchIdentity, error) {
	// Without an allow-list, a token any Twitch app obtained from a user
	// would log that app's operator into the user's account.
	if len(v.allowedClientIDs) == 0 {
		return TwitchIdentity{}, apperr.FailedPrecondition("Twitch login is not configured (OOF_TWITCH_CLIENT_IDS)")
	}
	if !slices.Contains(v.allowedClientIDs, clientID) {
		return TwitchIdentity{}, apperr.PermissionDenied("this Twitch application is not allowed")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.validateURL, nil)
	if err != nil {
		return TwitchIdentity{}, apperr.Internal("build twitch request", err)
	}
	req.Header.Set("Authorization", "OAuth "+token)
	resp, err := v.http.Do(req)
	if err != nil {
		return TwitchIdentity{}, apperr.Unavailable("Twitch is unreachable", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return TwitchIdentity{}, apperr.Unavailable("Twitch is unreachable", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return TwitchIdentity{}, apperr.Unauthenticated("Twitch token is invalid or expired")
	case resp.StatusCode != http.StatusOK:
		return TwitchIdentity{}, apperr.Unavailable("Twitch validation failed", fmt.Errorf("status %d", resp.StatusCode))
	}
	var id TwitchIdentity
	if err := json.Unmarshal(body, &id); err != nil {
		return TwitchIdentity{}, apperr.Unavailable("Twitch answered unexpectedly", err)
	}
	if id.ClientID != clientID || id.UserID != userID || id.UserID == "" {
		return TwitchIdentity{}, apperr.Unauthenticated("Twitch token does not belong to this client and user")
	}
	// The login is stored as text (accounts, users read model): a NUL in it
	// would be accepted here and then stall the users projector.
	if !validate.Storable(id.Login) {
		return TwitchIdentity{}, apperr.Unavailable("Twitch answered unexpectedly", fmt.Errorf("login is not storable text"))
	}
	return id, nil
}
