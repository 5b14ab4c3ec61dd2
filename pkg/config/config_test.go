package config

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load with empty env: %v", err)
	}
	want := Config{
		GRPCAddr:                "127.0.0.1:8080",
		AdminAddr:               "127.0.0.1:8081",
		LogLevel:                "info",
		CORSAllowedOrigins:      []string{"loopback"},
		PostgresURL:             "postgres://oof:oof@127.0.0.1:5432/oof?sslmode=disable",
		RedisAddr:               "127.0.0.1:6379",
		RedisKeyPrefix:          "oof:",
		KafkaBrokers:            []string{"127.0.0.1:9092"},
		KafkaVersion:            "3.9.0",
		KafkaTopicPrefix:        "",
		KafkaPartitions:         6,
		KafkaReplication:        1,
		ProduceTimeout:          5 * time.Second,
		ProjectionWait:          3 * time.Second,
		ProjectorBatchMax:       500,
		ProjectorMaxAttempts:    3,
		JWTKeys:                 map[string][]byte{},
		JWTActiveKID:            "",
		JWTIssuer:               "oof.gg",
		JWTAudience:             "oof.gg",
		JWTLeeway:               30 * time.Second,
		AccessTokenTTL:          15 * time.Minute,
		RefreshTokenTTL:         30 * 24 * time.Hour,
		RefreshGrace:            10 * time.Second,
		RevocationCacheTTL:      time.Second,
		StreamAuthRecheck:       15 * time.Second,
		PasswordHash:            PasswordHashConfig{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1},
		LoginLimitPerAccount:    10,
		LoginLimitPerAddress:    100,
		LoginLimitWindow:        time.Minute,
		TrustProxyHeaders:       false,
		RegisterLimitPerAddress: 20,
		RegisterLimitWindow:     time.Hour,
		TwitchValidateURL:       "https://id.twitch.tv/oauth2/validate",
		TwitchClientIDs:         nil,
		Quotas:                  DefaultQuotas(),
		Live:                    DefaultLive(),
		Tracing:                 DefaultTracing(),
		MatchTicketTTL:          30 * time.Second,
		MatchMaxWait:            30 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 48)
)

func TestOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{
		"OOF_GRPC_ADDR":                  " 0.0.0.0:9000 ",
		"OOF_KAFKA_BROKERS":              "k1:9092, k2:9092 ,,k3:9092",
		"OOF_KAFKA_TOPIC_PREFIX":         "staging.",
		"OOF_KAFKA_PARTITIONS":           "12",
		"OOF_KAFKA_REPLICATION":          "3",
		"OOF_PRODUCE_TIMEOUT":            "250ms",
		"OOF_ACCESS_TOKEN_TTL":           "1h30m",
		"OOF_TRUST_PROXY_HEADERS":        "true",
		"OOF_ARGON2_MEMORY_KIB":          "65536",
		"OOF_ARGON2_ITERATIONS":          "3",
		"OOF_ARGON2_PARALLELISM":         "4",
		"OOF_TWITCH_CLIENT_IDS":          "abc,def",
		"OOF_JWT_KEYS":                   "old:" + base64.StdEncoding.EncodeToString(secretA) + ", new:" + base64.RawURLEncoding.EncodeToString(secretB),
		"OOF_JWT_ACTIVE_KID":             "new",
		"OOF_PROJECTOR_BATCH_MAX":        "1",
		"OOF_PROJECTOR_MAX_ATTEMPTS":     "7",
		"OOF_REVOCATION_CACHE_TTL":       "2s",
		"OOF_JWT_AUDIENCE":               "games.example",
		"OOF_JWT_LEEWAY":                 "5s",
		"OOF_REFRESH_GRACE":              "3s",
		"OOF_REGISTER_LIMIT_PER_ADDRESS": "7",
		"OOF_REGISTER_LIMIT_WINDOW":      "10m",
		"OOF_CORS_ALLOWED_ORIGINS":       "https://play.oof.gg, loopback",
		"OOF_STREAM_AUTH_RECHECK":        "500ms",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"grpc addr trimmed", c.GRPCAddr, "0.0.0.0:9000"},
		{"brokers", c.KafkaBrokers, []string{"k1:9092", "k2:9092", "k3:9092"}},
		{"topic prefix", c.KafkaTopicPrefix, "staging."},
		{"partitions", c.KafkaPartitions, int32(12)},
		{"replication", c.KafkaReplication, int16(3)},
		{"produce timeout", c.ProduceTimeout, 250 * time.Millisecond},
		{"access ttl", c.AccessTokenTTL, 90 * time.Minute},
		{"trust proxy", c.TrustProxyHeaders, true},
		{"argon2", c.PasswordHash, PasswordHashConfig{MemoryKiB: 65536, Iterations: 3, Parallelism: 4}},
		{"twitch client ids", c.TwitchClientIDs, []string{"abc", "def"}},
		{"jwt keys", c.JWTKeys, map[string][]byte{"old": secretA, "new": secretB}},
		{"active kid", c.JWTActiveKID, "new"},
		{"batch max lower bound", c.ProjectorBatchMax, 1},
		{"max attempts", c.ProjectorMaxAttempts, 7},
		{"revocation cache", c.RevocationCacheTTL, 2 * time.Second},
		{"audience", c.JWTAudience, "games.example"},
		{"leeway", c.JWTLeeway, 5 * time.Second},
		{"refresh grace", c.RefreshGrace, 3 * time.Second},
		{"register limit", c.RegisterLimitPerAddress, 7},
		{"register window", c.RegisterLimitWindow, 10 * time.Minute},
		{"cors origins", c.CORSAllowedOrigins, []string{"https://play.oof.gg", "loopback"}},
		{"stream auth recheck", c.StreamAuthRecheck, 500 * time.Millisecond},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestBadValues(t *testing.T) {
	key32 := base64.StdEncoding.EncodeToString(secretA)
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("s"), 31))
	cases := []struct {
		name string
		env  map[string]string
		key  string // the variable the error must name
	}{
		{"int not a number", map[string]string{"OOF_KAFKA_PARTITIONS": "six"}, "OOF_KAFKA_PARTITIONS"},
		{"int float", map[string]string{"OOF_KAFKA_PARTITIONS": "1.5"}, "OOF_KAFKA_PARTITIONS"},
		{"int below range", map[string]string{"OOF_KAFKA_PARTITIONS": "0"}, "OOF_KAFKA_PARTITIONS"},
		{"int above range", map[string]string{"OOF_KAFKA_PARTITIONS": "1025"}, "OOF_KAFKA_PARTITIONS"},
		{"int negative", map[string]string{"OOF_KAFKA_REPLICATION": "-1"}, "OOF_KAFKA_REPLICATION"},
		{"int overflow", map[string]string{"OOF_PROJECTOR_BATCH_MAX": "99999999999999999999"}, "OOF_PROJECTOR_BATCH_MAX"},
		{"argon2 memory too small", map[string]string{"OOF_ARGON2_MEMORY_KIB": "1023"}, "OOF_ARGON2_MEMORY_KIB"},
		{"argon2 iterations zero", map[string]string{"OOF_ARGON2_ITERATIONS": "0"}, "OOF_ARGON2_ITERATIONS"},
		{"argon2 parallelism too big", map[string]string{"OOF_ARGON2_PARALLELISM": "65"}, "OOF_ARGON2_PARALLELISM"},
		{"login limit zero", map[string]string{"OOF_LOGIN_LIMIT_PER_ACCOUNT": "0"}, "OOF_LOGIN_LIMIT_PER_ACCOUNT"},
		{"duration without unit", map[string]string{"OOF_ACCESS_TOKEN_TTL": "15"}, "OOF_ACCESS_TOKEN_TTL"},
		{"duration garbage", map[string]string{"OOF_PRODUCE_TIMEOUT": "soon"}, "OOF_PRODUCE_TIMEOUT"},
		{"duration zero", map[string]string{"OOF_PROJECTION_WAIT": "0s"}, "OOF_PROJECTION_WAIT"},
		{"duration negative", map[string]string{"OOF_LOGIN_LIMIT_WINDOW": "-1m"}, "OOF_LOGIN_LIMIT_WINDOW"},
		{"bool garbage", map[string]string{"OOF_TRUST_PROXY_HEADERS": "yes"}, "OOF_TRUST_PROXY_HEADERS"},
		{"brokers only commas", map[string]string{"OOF_KAFKA_BROKERS": " , ,"}, "OOF_KAFKA_BROKERS"},
		{"jwt key without colon", map[string]string{"OOF_JWT_KEYS": key32, "OOF_JWT_ACTIVE_KID": "k"}, "OOF_JWT_KEYS"},
		{"jwt key empty kid", map[string]string{"OOF_JWT_KEYS": ":" + key32, "OOF_JWT_ACTIVE_KID": "k"}, "OOF_JWT_KEYS"},
		{"jwt key not base64", map[string]string{"OOF_JWT_KEYS": "k:!!not base64!!", "OOF_JWT_ACTIVE_KID": "k"}, "OOF_JWT_KEYS"},
		{"jwt key empty secret", map[string]string{"OOF_JWT_KEYS": "k:", "OOF_JWT_ACTIVE_KID": "k"}, "OOF_JWT_KEYS"},
		{"jwt key 31 bytes", map[string]string{"OOF_JWT_KEYS": "k:" + short, "OOF_JWT_ACTIVE_KID": "k"}, "OOF_JWT_KEYS"},
		{"jwt keys without active kid", map[string]string{"OOF_JWT_KEYS": "k:" + key32}, "OOF_JWT_ACTIVE_KID"},
		{"jwt active kid names no key", map[string]string{"OOF_JWT_KEYS": "k:" + key32, "OOF_JWT_ACTIVE_KID": "other"}, "OOF_JWT_ACTIVE_KID"},
		{"register limit zero", map[string]string{"OOF_REGISTER_LIMIT_PER_ADDRESS": "0"}, "OOF_REGISTER_LIMIT_PER_ADDRESS"},
		{"refresh grace zero", map[string]string{"OOF_REFRESH_GRACE": "0s"}, "OOF_REFRESH_GRACE"},
		{"refresh grace as long as the token", map[string]string{"OOF_REFRESH_GRACE": "1h", "OOF_REFRESH_TOKEN_TTL": "1h"}, "OOF_REFRESH_GRACE"},
		{"cors origin with a path", map[string]string{"OOF_CORS_ALLOWED_ORIGINS": "https://oof.gg/app"}, "OOF_CORS_ALLOWED_ORIGINS"},
		{"cors origin without scheme", map[string]string{"OOF_CORS_ALLOWED_ORIGINS": "oof.gg"}, "OOF_CORS_ALLOWED_ORIGINS"},
		{"cors origin bad scheme", map[string]string{"OOF_CORS_ALLOWED_ORIGINS": "ftp://oof.gg"}, "OOF_CORS_ALLOWED_ORIGINS"},
		{"stream recheck zero", map[string]string{"OOF_STREAM_AUTH_RECHECK": "0s"}, "OOF_STREAM_AUTH_RECHECK"},
		{"jwt active kid without keys", map[string]string{"OOF_JWT_ACTIVE_KID": "k"}, "OOF_JWT_ACTIVE_KID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil {
				t.Fatalf("Load accepted %v", tc.env)
			}
			if !strings.Contains(err.Error(), tc.key+":") {
				t.Fatalf("error %q does not name %s", err, tc.key)
			}
		})
	}
}

func TestBadValueFallsBackToDefault(t *testing.T) {
	c, err := Load(env(map[string]string{"OOF_KAFKA_PARTITIONS": "nope", "OOF_ACCESS_TOKEN_TTL": "x"}))
	if err == nil {
		t.Fatal("want an error")
	}
	if c.KafkaPartitions != 6 || c.AccessTokenTTL != 15*time.Minute {
		t.Fatalf("bad values leaked into config: partitions %d, ttl %v", c.KafkaPartitions, c.AccessTokenTTL)
	}
}

func TestAllErrorsReportedAtOnce(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(secretA)
	_, err := Load(env(map[string]string{
		"OOF_KAFKA_PARTITIONS":    "many",
		"OOF_KAFKA_REPLICATION":   "99",
		"OOF_PRODUCE_TIMEOUT":     "fast",
		"OOF_TRUST_PROXY_HEADERS": "maybe",
		"OOF_JWT_KEYS":            "short:" + base64.StdEncoding.EncodeToString([]byte("tiny")) + ",ok:" + good + ",broken",
		"OOF_JWT_ACTIVE_KID":      "missing",
		"OOF_KAFKA_BROKERS":       ",",
	}))
	if err == nil {
		t.Fatal("want errors")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not an errors.Join result", err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		key, _, _ := strings.Cut(e.Error(), ":")
		got = append(got, key)
	}
	want := []string{
		"OOF_KAFKA_PARTITIONS", "OOF_KAFKA_REPLICATION", "OOF_PRODUCE_TIMEOUT", "OOF_TRUST_PROXY_HEADERS",
		"OOF_JWT_KEYS", "OOF_JWT_KEYS", "OOF_JWT_ACTIVE_KID", "OOF_KAFKA_BROKERS",
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("reported %v,\n want %v\n(err: %v)", got, want, err)
	}
	for _, frag := range []string{`"many"`, `"99"`, `"fast"`, `"maybe"`, `key "short"`} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error does not quote %s: %v", frag, err)
		}
	}
	if strings.Contains(err.Error(), good) {
		t.Errorf("error leaks a JWT secret: %v", err)
	}
}

func TestTopic(t *testing.T) {
	cases := []struct {
		prefix, name, want string
	}{
		{"", "oof.user.v1", "oof.user.v1"},
		{"staging.", "oof.user.v1", "staging.oof.user.v1"},
		{"t123-", "oof.user.v1", "t123-oof.user.v1"},
	}
	for _, tc := range cases {
		c, err := Load(env(map[string]string{"OOF_KAFKA_TOPIC_PREFIX": tc.prefix}))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Topic(tc.name); got != tc.want {
			t.Errorf("prefix %q: Topic(%q) = %q, want %q", tc.prefix, tc.name, got, tc.want)
		}
	}
}
