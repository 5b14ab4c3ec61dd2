package main

// The auth scenarios: the argon2id ceiling, Register, Login and
// ValidateToken. Each is one function returning a scenario.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/auth"
)

const (
	nameHash     = "argon2id hash (raw)"
	nameRegister = "Register"
	nameLogin    = "Login"
	nameValidate = "ValidateToken"

	benchPassword = "correct horse battery staple"
)

// hashRate measures PasswordHasher.Hash with the platform's parameters in
// GOMAXPROCS goroutines, without gRPC or storage: the most password checks
// per second this machine can do, the ceiling of Register and Login.
func hashRate(b *bench) scenario {
	var hasher *auth.PasswordHasher
	return scenario{
		name:        nameHash,
		concurrency: runtime.GOMAXPROCS(0),
		setup: func(context.Context) error {
			var err error
			hasher, err = auth.NewPasswordHasher(b.hashParams)
			return err
		},
		op: func(context.Context, int, int) error {
			_, err := hasher.Hash(benchPassword)
			return err
		},
		goal: "— (ceiling of Register/Login)",
	}
}

// register creates accounts with unique usernames.
func register(b *bench) scenario {
	return scenario{
		name:        nameRegister,
		concurrency: b.concurrency(2 * runtime.GOMAXPROCS(0)),
		op: func(ctx context.Context, w, i int) error {
			name := fmt.Sprintf("r%s_%d_%d", b.runID, w, i)
			resp, err := b.client(w).Register(ctx, &authpb.RegisterRequest{
				Username: name, Email: name + "@bench.example.com", Password: benchPassword})
			if err == nil && resp.GetAccessToken() == "" {
				err = errors.New("register returned no access token")
			}
			return err
		},
		goal: "— (≤ hash rate)",
	}
}

// login logs pre-registered users in, round-robin.
func login(b *bench) scenario {
	var users []benchUser
	var next atomic.Uint64
	return scenario{
		name:        nameLogin,
		concurrency: b.concurrency(2 * runtime.GOMAXPROCS(0)),
		setup: func(ctx context.Context) error {
			var err error
			users, err = b.registerUsers(ctx, "l", 32)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			u := users[next.Add(1)%uint64(len(users))]
			resp, err := b.client(w).Login(ctx, &authpb.LoginRequest{Username: u.name, Password: benchPassword})
			if err == nil && resp.GetAccessToken() == "" {
				err = errors.New("login returned no access token")
			}
			return err
		},
		goal: "≥ 80% of raw hash rate",
		check: func(r result, prior map[string]result) (bool, string) {
			h, ok := prior[nameHash]
			if !ok || h.opsPerSec() == 0 {
				return false, "hash rate not measured; run it too"
			}
			ratio := r.opsPerSec() / h.opsPerSec()
			detail := fmt.Sprintf("%.0f%% of %s/s", 100*ratio, fmtRate(h.opsPerSec()))
			if busy := float64(runtime.NumCPU()) / 4; h.cpu.others > busy || r.cpu.others > busy+0.25 {
				detail += "; other load on the machine: unreliable"
			}
			return ratio >= 0.8, detail
		},
	}
}

// validateToken checks pre-issued access tokens of distinct sessions. Its
// floor is an empty RPC through the same server stack: what is left is the
// token check itself.
func validateToken(b *bench) scenario {
	var tokens []string
	return scenario{
		name:        nameValidate,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) error {
			users, err := b.registerUsers(ctx, "v", 64)
			for _, u := range users {
				tokens = append(tokens, u.accessToken)
			}
			return err
		},
		op: func(ctx context.Context, w, i int) error {
			resp, err := b.client(w).ValidateToken(ctx, &authpb.ValidateTokenRequest{
				AccessToken: tokens[(w+i)%len(tokens)]})
			if err == nil && !resp.GetIsValid() {
				err = errors.New("a valid token was reported invalid")
			}
			return err
		},
		goal:        "≥ 0.7× floor ops/s",
		floor:       nameEmptyFloor,
		minOpsRatio: 0.7,
	}
}

type benchUser struct{ name, accessToken string }

// registerUsers registers n users (unmeasured setup), 2*GOMAXPROCS at a time.
func (b *bench) registerUsers(ctx context.Context, prefix string, n int) ([]benchUser, error) {
	users := make([]benchUser, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("%s%s_%d", prefix, b.runID, i)
			resp, err := b.client(i).Register(ctx, &authpb.RegisterRequest{
				Username: name, Email: name + "@bench.example.com", Password: benchPassword})
			if err != nil {
				errs[i] = fmt.Errorf("register %s: %w", name, err)
				return
			}
			users[i] = benchUser{name: name, accessToken: resp.GetAccessToken()}
		}()
	}
	wg.Wait()
	return users, errors.Join(errs...)
}
