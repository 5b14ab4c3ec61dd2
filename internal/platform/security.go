package platform

import (
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/redisx"
)

// security is the token machinery shared by the command and query sides.
type security struct {
	keys      redisx.Keys
	issuer    *auth.TokenIssuer
	validator *auth.Validator
	refresh   *auth.RefreshStore
}

func newSecurity(cfg config.Config, rdb *redis.Client) (*security, error) {
	ring, err := auth.NewKeyring(cfg.JWTKeys, cfg.JWTActiveKID)
	if err != nil {
		return nil, err
	}
	keys := redisx.NewKeys(cfg.RedisKeyPrefix)
	refresh := auth.NewRefreshStore(rdb, keys, cfg.RefreshTokenTTL, cfg.RefreshGrace)
	verifier := auth.NewTokenVerifier(ring, cfg.JWTIssuer, cfg.JWTAudience, cfg.JWTLeeway, time.Now)
	return &security{
		keys:      keys,
		issuer:    auth.NewTokenIssuer(ring, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTokenTTL, time.Now),
		validator: auth.NewValidator(verifier, refresh, cfg.RevocationCacheTTL, time.Now),
		refresh:   refresh,
	}, nil
}
