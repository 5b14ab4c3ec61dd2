package main

// Players and sessions for the live-event scenario, made fast: Register
// costs an argon2id hash (~30 ms of a CPU each), so a thousand players
// would take longer than the measurement. Instead the bench
//
//   - inserts the accounts into auth_accounts in one statement, all with
//     one argon2id hash of the bench password (so Login would work for any
//     of them), without the UserRegistered events: nothing on the live
//     path reads the users projection;
//   - starts a login for each in the platform's refresh store (Redis) and
//     signs its access token with the platform's own issuer and keys
//     (pkg/auth, the harness's OOF_JWT_KEYS), exactly what Login ends with,
//     so the tokens pass the same validation and revocation checks;
//   - has a developer create the sessions with their players listed
//     (CreateSession through gRPC: a game's owner may list anyone).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/redisx"
)

// rtPlayer is a player account and an access token of it.
type rtPlayer struct{ id, token string }

// with returns ctx carrying the player's bearer token.
func (p rtPlayer) with(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+p.token)
}

// rtPlayers creates n player accounts with tokens (see the file comment).
func (b *bench) rtPlayers(ctx context.Context, prefix string, n int) ([]rtPlayer, error) {
	hasher, err := auth.NewPasswordHasher(b.hashParams)
	if err != nil {
		return nil, err
	}
	hash, err := hasher.Hash(benchPassword)
	if err != nil {
		return nil, err
	}
	players := make([]rtPlayer, n)
	ids := make([]string, n)
	names := make([]string, n)
	emails := make([]string, n)
	for i := range players {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		names[i] = fmt.Sprintf("%s%s_%d", prefix, b.runID, i)
		emails[i] = names[i] + "@bench.example.com"
		players[i].id = ids[i]
	}
	if _, err := b.env.Pool.Exec(ctx, `INSERT INTO auth_accounts (user_id, username, email, password_hash, role)
		SELECT id, name, email, $4, $5 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, name, email)`,
		ids, names, emails, hash, auth.RolePlayer); err != nil {
		return nil, fmt.Errorf("insert accounts: %w", err)
	}

	cfg := b.env.Cfg
	ring, err := auth.NewKeyring(cfg.JWTKeys, cfg.JWTActiveKID)
	if err != nil {
		return nil, err
	}
	issuer := auth.NewTokenIssuer(ring, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTokenTTL, time.Now)
	refresh := auth.NewRefreshStore(b.env.Redis, redisx.NewKeys(cfg.RedisKeyPrefix), cfg.RefreshTokenTTL, cfg.RefreshGrace)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range players {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, loginID, err := refresh.Start(ctx, players[i].id)
			if err == nil {
				players[i].token, err = issuer.Issue(players[i].id, auth.RolePlayer, loginID)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return players, errors.Join(errs...)
}

// rtSessions has a developer create shape.sessions sessions, session i
// listing the players shape.members(i), spread over a few games (creating
// a session locks its game) and created from as many goroutines.
func (b *bench) rtSessions(ctx context.Context, prefix string, shape rtShape, players []rtPlayer) ([]string, error) {
	if shape.perSession() > 64 {
		return nil, fmt.Errorf("%d players per session: the bench's games hold at most 64", shape.perSession())
	}
	games := min(8, shape.sessions)
	f, err := b.sessionFixture(ctx, prefix, games)
	if err != nil {
		return nil, err
	}
	ids := make([]string, shape.sessions)
	errs := make([]error, games)
	var wg sync.WaitGroup
	for g := range games {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := g; s < shape.sessions; s += games {
				req := &gamepb.SessionCreate{GameId: f.games[g]}
				for _, p := range shape.members(s) {
					req.UserIds = append(req.UserIds, players[p].id)
				}
				resp, err := b.games(g).CreateSession(f.with(ctx), req)
				if err != nil {
					errs[g] = fmt.Errorf("create session %d: %w", s, err)
					return
				}
				ids[s] = resp.GetSession().GetId()
			}
		}()
	}
	wg.Wait()
	return ids, errors.Join(errs...)
}
