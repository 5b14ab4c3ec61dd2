package config

import (
	"strings"
	"testing"
)

func TestQuotasFromEnv(t *testing.T) {
	c, err := Load(env(map[string]string{
		"OOF_QUOTA_OPEN_SESSIONS_PER_USER":   "2",
		"OOF_QUOTA_SESSION_RESERVE_PERCENT":  "0",
		"OOF_QUOTA_ENTITIES_PER_SESSION":     "50",
		"OOF_QUOTA_ENTITY_BYTES_PER_SESSION": "1048576",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Quotas{OpenSessionsPerUser: 2, SessionReservePercent: 0, EntitiesPerSession: 50, EntityBytesPerSession: 1 << 20}
	if c.Quotas != want {
		t.Fatalf("quotas %+v, want %+v", c.Quotas, want)
	}
}

func TestQuotasBadValues(t *testing.T) {
	for key, bad := range map[string]string{
		"OOF_QUOTA_OPEN_SESSIONS_PER_USER":   "0",
		"OOF_QUOTA_SESSION_RESERVE_PERCENT":  "100",
		"OOF_QUOTA_ENTITIES_PER_SESSION":     "-1",
		"OOF_QUOTA_ENTITY_BYTES_PER_SESSION": "1024", // less than one large entity
	} {
		t.Run(key, func(t *testing.T) {
			c, err := Load(env(map[string]string{key: bad}))
			if err == nil || !strings.Contains(err.Error(), key+":") {
				t.Fatalf("Load(%s=%s) = %v, want an error naming it", key, bad, err)
			}
			if c.Quotas != DefaultQuotas() {
				t.Fatalf("a bad value leaked into the quotas: %+v", c.Quotas)
			}
		})
	}
}

// A handler built without configuration is limited by the defaults, not
// unlimited.
func TestQuotasOrDefaults(t *testing.T) {
	if got := (Quotas{}).OrDefaults(); got != DefaultQuotas() {
		t.Fatalf("zero quotas filled as %+v", got)
	}
	partial := Quotas{EntitiesPerSession: 7}
	if got := partial.OrDefaults(); got.EntitiesPerSession != 7 || got.OpenSessionsPerUser != 5 ||
		got.EntityBytesPerSession != 8<<20 || got.SessionReservePercent != 0 {
		t.Fatalf("partial quotas filled as %+v", got)
	}
	set := Quotas{OpenSessionsPerUser: 1, SessionReservePercent: 50, EntitiesPerSession: 2, EntityBytesPerSession: 3}
	if got := set.OrDefaults(); got != set {
		t.Fatalf("set quotas changed to %+v", got)
	}
}
