package harness

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oof-gg/platform/pkg/config"
)

// ConfigEnv must carry every setting: a subprocess configured from it runs
// on exactly the namespace the test made. A field added to config.Config
// but not to ConfigEnv fails here.
func TestConfigEnvRoundTrips(t *testing.T) {
	defaults, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaults
	// A value different from the default in every field.
	cfg.GRPCAddr, cfg.AdminAddr, cfg.LogLevel = "127.0.0.1:1", "127.0.0.1:2", "debug"
	cfg.PostgresURL, cfg.RedisAddr, cfg.RedisKeyPrefix = "postgres://a:b@127.0.0.1:3/d", "127.0.0.1:4", "t1:"
	cfg.KafkaBrokers, cfg.KafkaVersion, cfg.KafkaTopicPrefix = []string{"127.0.0.1:5", "127.0.0.1:6"}, "3.8.0", "t1."
	cfg.KafkaPartitions, cfg.KafkaReplication = 3, 2
	cfg.ProduceTimeout, cfg.ProjectionWait, cfg.ProjectorBatchMax, cfg.ProjectorGroupPrefix = 7*time.Second, time.Second, 9, "g1."
	cfg.ProjectorMaxAttempts = 5
	cfg.JWTKeys = map[string][]byte{"k1": []byte(strings.Repeat("a", 32)), "k2": []byte(strings.Repeat("b", 40))}
	cfg.JWTActiveKID, cfg.JWTIssuer = "k2", "tests"
	cfg.AccessTokenTTL, cfg.RefreshTokenTTL, cfg.RevocationCacheTTL = time.Minute, time.Hour, 50*time.Millisecond
	cfg.PasswordHash = config.PasswordHashConfig{MemoryKiB: 8192, Iterations: 1, Parallelism: 2}
	cfg.LoginLimitPerAccount, cfg.LoginLimitPerAddress, cfg.LoginLimitWindow = 5, 20, 2*time.Minute
	cfg.JWTAudience, cfg.JWTLeeway, cfg.RefreshGrace = "tests.api", 5*time.Second, 2*time.Second
	cfg.RegisterLimitPerAddress, cfg.RegisterLimitWindow = 5, 3*time.Minute
	cfg.TrustProxyHeaders, cfg.TwitchValidateURL, cfg.TwitchClientIDs = true, "http://127.0.0.1:7/v", []string{"app-1", "app-2"}
	cfg.Quotas = config.Quotas{OpenSessionsPerUser: 2, SessionReservePercent: 0, EntitiesPerSession: 3, EntityBytesPerSession: 1 << 20}
	cfg.MatchTicketTTL, cfg.MatchMaxWait = 7*time.Second, 11*time.Second
	cfg.Live = config.Live{Rate: 5, Burst: 6, Window: 70, Expiry: time.Hour, Buffer: 8, MaxEventBytes: 4096, PresenceTTL: 3 * time.Second, Retention: 48 * time.Hour}
	cfg.Tracing = config.Tracing{OTLPEndpoint: "http://127.0.0.1:4317", SampleRatio: 0.25}
	cfg.CORSAllowedOrigins, cfg.StreamAuthRecheck = []string{"https://play.oof.gg", "https://*.oof.gg"}, 3*time.Second

	dv, cv := reflect.ValueOf(defaults), reflect.ValueOf(cfg)
	for i := range cv.NumField() {
		if reflect.DeepEqual(dv.Field(i).Interface(), cv.Field(i).Interface()) {
			t.Errorf("config field %s keeps its default here, so this test cannot see it carried: set it above", cv.Type().Field(i).Name)
		}
	}

	vars := map[string]string{}
	for _, kv := range ConfigEnv(cfg) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	got, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cfg) {
		t.Fatalf("config through ConfigEnv:\n got %+v\nwant %+v", got, cfg)
	}
}
