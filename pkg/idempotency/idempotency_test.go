package idempotency

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/oof-gg/platform/pkg/apperr"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		key string
		ok  bool
	}{
		{"0d9e8a4c-6a51-4f3e-9b0e-1f2a3b4c5d6e", true},
		{"a", true},
		{strings.Repeat("k", MaxKeyLen), true},
		{"", false},
		{strings.Repeat("k", MaxKeyLen+1), false},
		{"with space", false},
		{"tab\tin", false},
		{"nul\x00", false},
		{"ümlaut", false},
		{"del\x7f", false},
	}
	for _, c := range cases {
		err := Check(c.key)
		if (err == nil) != c.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", c.key, err, c.ok)
		}
		if err != nil && !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("Check(%q) = %v, want an invalid-argument error", c.key, err)
		}
	}
}

func TestInterceptorCarriesTheKey(t *testing.T) {
	ic := UnaryInterceptor()
	call := func(md metadata.MD) (string, error) {
		ctx := metadata.NewIncomingContext(context.Background(), md)
		var seen string
		_, err := ic(ctx, nil, &grpc.UnaryServerInfo{}, func(ctx context.Context, _ any) (any, error) {
			seen = KeyFrom(ctx)
			return nil, nil
		})
		return seen, err
	}
	if k, err := call(metadata.Pairs(Header, "abc")); err != nil || k != "abc" {
		t.Fatalf("key %q, err %v", k, err)
	}
	if k, err := call(metadata.MD{}); err != nil || k != "" {
		t.Fatalf("no header: key %q, err %v", k, err)
	}
	if _, err := call(metadata.Pairs(Header, "a", Header, "b")); !apperr.Is(err, apperr.KindInvalid) {
		t.Fatalf("two keys: %v", err)
	}
	if _, err := call(metadata.Pairs(Header, "bad key")); !apperr.Is(err, apperr.KindInvalid) {
		t.Fatalf("bad key: %v", err)
	}
}
