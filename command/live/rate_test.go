package live

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var l limiter
	// A new bucket holds burst tokens.
	for i := range 4 {
		if ok, _ := l.take("a", 2, 4, t0); !ok {
			t.Fatalf("take %d of a full bucket refused", i)
		}
	}
	ok, wait := l.take("a", 2, 4, t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: ok=%v wait=%v, want refused with 500ms", ok, wait)
	}
	// Another player has its own bucket.
	if ok, _ := l.take("b", 2, 4, t0); !ok {
		t.Fatal("b refused by a's bucket")
	}
	// Refill at rate: 250ms gives half a token, 500ms one.
	if ok, _ := l.take("a", 2, 4, t0.Add(250*time.Millisecond)); ok {
		t.Fatal("allowed with half a token")
	}
	if ok, _ := l.take("a", 2, 4, t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused after a token refilled")
	}
	// Never above burst, however long idle.
	later := t0.Add(time.Hour)
	for i := range 4 {
		if ok, _ := l.take("a", 2, 4, later); !ok {
			t.Fatalf("take %d after idling refused", i)
		}
	}
	if ok, _ := l.take("a", 2, 4, later); ok {
		t.Fatal("bucket refilled above burst")
	}
}
