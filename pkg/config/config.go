// Package config reads the platform's settings from OOF_* environment
// variables. Every setting has a default that works with `make up` on
// loopback; Load reports all bad values at once.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oof-gg/platform/pkg/cors"
)

// Config is everything a target needs to start.
type Config struct {
	GRPCAddr  string // gRPC + gRPC-Web listener
	AdminAddr string // health and metrics HTTP listener
	LogLevel  string
	// CORSAllowedOrigins are the browser origins that may call over
	// gRPC-Web (pkg/cors.Parse: "*", "loopback", exact origins,
	// "https://*.domain" patterns).
	CORSAllowedOrigins []string

	PostgresURL string
	RedisAddr   string
	// RedisKeyPrefix namespaces every Redis key (tests run side by side).
	RedisKeyPrefix string

	KafkaBrokers      []string
	KafkaVersion      string
	KafkaTopicPrefix  string
	KafkaPartitions   int32
	KafkaReplication  int16
	ProduceTimeout    time.Duration
	ProjectionWait    time.Duration // bounded read-your-writes wait in commands
	ProjectorBatchMax int
	// ProjectorMaxAttempts is how often a record that fails for a reason
	// other than infrastructure is tried before it is dead-lettered.
	ProjectorMaxAttempts int
	// ProjectorGroupPrefix names the projectors' consumer groups (default:
	// the topic prefix). A second set of projectors rebuilding into another
	// database needs its own.
	ProjectorGroupPrefix string

	JWTKeys      map[string][]byte // kid -> HMAC secret
	JWTActiveKID string
	JWTIssuer    string
	// JWTAudience is the aud claim access tokens carry and validators
	// require: a token minted for another service is not accepted here.
	JWTAudience string
	// JWTLeeway is the clock skew tolerated between the process that signs
	// a token and the one that checks it (iat, nbf, exp).
	JWTLeeway       time.Duration
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// RefreshGrace is how long after a rotation the previous refresh token
	// still answers, with the same successor (two tabs, a lost response).
	RefreshGrace time.Duration
	// RevocationCacheTTL bounds how long a validator may trust a cached
	// "session not revoked" answer.
	RevocationCacheTTL time.Duration
	// StreamAuthRecheck is how often an open stream re-validates its
	// caller's access token (revocation); expiry ends it exactly.
	StreamAuthRecheck time.Duration

	PasswordHash PasswordHashConfig

	LoginLimitPerAccount int
	LoginLimitPerAddress int
	LoginLimitWindow     time.Duration
	// RegisterLimitPerAddress bounds registrations (attempts) per client
	// address per RegisterLimitWindow.
	RegisterLimitPerAddress int
	RegisterLimitWindow     time.Duration
	TrustProxyHeaders       bool

	TwitchValidateURL string
	// TwitchClientIDs are the Twitch applications whose tokens are accepted;
	// empty turns Twitch login off.
	TwitchClientIDs []string

	Quotas Quotas // per-user and per-session limits (quotas.go)
	Live   Live   // live event streams (live.go)
	// Tracing is OpenTelemetry tracing, off by default (tracing.go).
	Tracing Tracing

	// MatchTicketTTL is how long a matchmaking ticket lives after its last
	// heartbeat (JOIN again, or an open WatchQueue).
	MatchTicketTTL time.Duration
	// MatchMaxWait is how long the oldest ticket of a queue waits for a full
	// session before the matchmaker starts one with fewer players (when the
	// game allows it).
	MatchMaxWait time.Duration
}

// PasswordHashConfig is the argon2id cost.
type PasswordHashConfig struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// Load builds a Config from getenv (os.Getenv in production).
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		GRPCAddr:           r.str("OOF_GRPC_ADDR", "127.0.0.1:8080"),
		AdminAddr:          r.str("OOF_ADMIN_ADDR", "127.0.0.1:8081"),
		LogLevel:           r.str("OOF_LOG_LEVEL", "info"),
		CORSAllowedOrigins: r.list("OOF_CORS_ALLOWED_ORIGINS", cors.Loopback),
		PostgresURL:        r.str("OOF_POSTGRES_URL", "postgres://oof:oof@127.0.0.1:5432/oof?sslmode=disable"),
		RedisAddr:          r.str("OOF_REDIS_ADDR", "127.0.0.1:6379"),
		RedisKeyPrefix:     r.str("OOF_REDIS_KEY_PREFIX", "oof:"),

		KafkaBrokers:         r.list("OOF_KAFKA_BROKERS", "127.0.0.1:9092"),
		KafkaVersion:         r.str("OOF_KAFKA_VERSION", "3.9.0"),
		KafkaTopicPrefix:     r.str("OOF_KAFKA_TOPIC_PREFIX", ""),
		KafkaPartitions:      int32(r.integer("OOF_KAFKA_PARTITIONS", 6, 1, 1024)),
		KafkaReplication:     int16(r.integer("OOF_KAFKA_REPLICATION", 1, 1, 16)),
		ProduceTimeout:       r.duration("OOF_PRODUCE_TIMEOUT", 5*time.Second),
		ProjectionWait:       r.duration("OOF_PROJECTION_WAIT", 3*time.Second),
		ProjectorBatchMax:    r.integer("OOF_PROJECTOR_BATCH_MAX", 500, 1, 100000),
		ProjectorGroupPrefix: r.str("OOF_PROJECTOR_GROUP_PREFIX", ""),
		ProjectorMaxAttempts: r.integer("OOF_PROJECTOR_MAX_ATTEMPTS", 3, 1, 1000),

		JWTActiveKID:       r.str("OOF_JWT_ACTIVE_KID", ""),
		JWTIssuer:          r.str("OOF_JWT_ISSUER", "oof.gg"),
		JWTAudience:        r.str("OOF_JWT_AUDIENCE", "oof.gg"),
		JWTLeeway:          r.duration("OOF_JWT_LEEWAY", 30*time.Second),
		AccessTokenTTL:     r.duration("OOF_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL:    r.duration("OOF_REFRESH_TOKEN_TTL", 30*24*time.Hour),
		RefreshGrace:       r.duration("OOF_REFRESH_GRACE", 10*time.Second),
		RevocationCacheTTL: r.duration("OOF_REVOCATION_CACHE_TTL", time.Second),
		StreamAuthRecheck:  r.duration("OOF_STREAM_AUTH_RECHECK", 15*time.Second),

		PasswordHash: PasswordHashConfig{
			MemoryKiB:   uint32(r.integer("OOF_ARGON2_MEMORY_KIB", 19*1024, 1024, 4*1024*1024)),
			Iterations:  uint32(r.integer("OOF_ARGON2_ITERATIONS", 2, 1, 100)),
			Parallelism: uint8(r.integer("OOF_ARGON2_PARALLELISM", 1, 1, 64)),
		},

		LoginLimitPerAccount: r.integer("OOF_LOGIN_LIMIT_PER_ACCOUNT", 10, 1, 1<<30),
		LoginLimitPerAddress: r.integer("OOF_LOGIN_LIMIT_PER_ADDRESS", 100, 1, 1<<30),
		LoginLimitWindow:     r.duration("OOF_LOGIN_LIMIT_WINDOW", time.Minute),
		TrustProxyHeaders:    r.boolean("OOF_TRUST_PROXY_HEADERS", false),

		RegisterLimitPerAddress: r.integer("OOF_REGISTER_LIMIT_PER_ADDRESS", 20, 1, 1<<30),
		RegisterLimitWindow:     r.duration("OOF_REGISTER_LIMIT_WINDOW", time.Hour),

		TwitchValidateURL: r.str("OOF_TWITCH_VALIDATE_URL", "https://id.twitch.tv/oauth2/validate"),
		TwitchClientIDs:   r.list("OOF_TWITCH_CLIENT_IDS", ""),

		MatchTicketTTL: r.duration("OOF_MATCH_TICKET_TTL", 30*time.Second),
		MatchMaxWait:   r.duration("OOF_MATCH_MAX_WAIT", 30*time.Second),
	}
	c.Quotas = r.quotas()
	c.Live = r.live()
	c.Tracing = r.tracing()
	if c.ProjectorGroupPrefix == "" {
		c.ProjectorGroupPrefix = c.KafkaTopicPrefix
	}
	c.JWTKeys = r.keys("OOF_JWT_KEYS")
	if len(c.JWTKeys) > 0 && c.JWTActiveKID == "" {
		r.fail("OOF_JWT_ACTIVE_KID", "required when OOF_JWT_KEYS is set")
	}
	if c.JWTActiveKID != "" {
		if _, ok := c.JWTKeys[c.JWTActiveKID]; !ok {
			r.fail("OOF_JWT_ACTIVE_KID", "names no key of OOF_JWT_KEYS")
		}
	}
	// A grace as long as the token itself would make rotation pointless.
	if c.RefreshGrace >= c.RefreshTokenTTL {
		r.fail("OOF_REFRESH_GRACE", "must be shorter than OOF_REFRESH_TOKEN_TTL")
	}
	if _, err := cors.Parse(c.CORSAllowedOrigins); err != nil {
		r.fail("OOF_CORS_ALLOWED_ORIGINS", err.Error())
	}
	if len(c.KafkaBrokers) == 0 {
		r.fail("OOF_KAFKA_BROKERS", "at least one broker is required")
	}
	return c, errors.Join(r.errs...)
}

// Topic returns the full (prefixed) name of a platform topic.
func (c Config) Topic(name string) string { return c.KafkaTopicPrefix + name }

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(key, why string) { r.errs = append(r.errs, fmt.Errorf("%s: %s", key, why)) }

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) list(key, def string) []string {
	var out []string
	for _, part := range strings.Split(r.str(key, def), ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *reader) integer(key string, def, lo, hi int) int {
	raw := r.str(key, "")
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		r.fail(key, fmt.Sprintf("want an integer in [%d, %d], got %q", lo, hi, raw))
		return def
	}
	return n
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	raw := r.str(key, "")
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		r.fail(key, fmt.Sprintf("want a positive duration like 15m, got %q", raw))
		return def
	}
	return d
}

func (r *reader) boolean(key string, def bool) bool {
	raw := r.str(key, "")
	if raw == "" {
		return def
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		r.fail(key, fmt.Sprintf("want true or false, got %q", raw))
		return def
	}
	return b
}

// keys parses "kid:base64secret,kid2:base64secret".
func (r *reader) keys(key string) map[string][]byte {
	out := map[string][]byte{}
	for _, item := range r.list(key, "") {
		kid, secret, ok := strings.Cut(item, ":")
		if !ok || kid == "" {
			r.fail(key, "want kid:base64secret entries separated by commas")
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(secret)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(secret)
		}
		if err != nil || len(raw) < 32 {
			r.fail(key, fmt.Sprintf("key %q must be base64 of at least 32 bytes", kid))
			continue
		}
		out[kid] = raw
	}
	return out
}
