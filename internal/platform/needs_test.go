package platform

import (
	"testing"

	"github.com/oof-gg/platform/pkg/routing"
)

func TestNeedsOf(t *testing.T) {
	pgRedis := deps{postgres: true, redis: true}
	everything := deps{postgres: true, redis: true, kafka: true}
	cases := []struct {
		target                 routing.Target
		wantConnect, wantReady deps
	}{
		// The query target must not even open a Kafka client.
		{routing.TargetQuery, pgRedis, pgRedis},
		// The command target opens its producer but stays ready without Kafka.
		{routing.TargetCommand, pgRedis, pgRedis}, // Kafka is the outbox relay's own connection
		{routing.TargetProjector, everything, everything},
		{routing.TargetStream, everything, everything},
		{routing.TargetAll, everything, everything},
	}
	for _, tc := range cases {
		t.Run(string(tc.target), func(t *testing.T) {
			n, err := needsOf(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if n.connect != tc.wantConnect || n.ready != tc.wantReady {
				t.Fatalf("needs %+v, want connect %+v ready %+v", n, tc.wantConnect, tc.wantReady)
			}
		})
	}
	if _, err := needsOf("migrate"); err == nil {
		t.Fatal("needsOf(migrate) did not fail: migrate is not a long-running target")
	}
}
