package apperr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const secret = "dsn=postgres://admin:hunter2@db"

func TestToStatusEveryKind(t *testing.T) {
	cause := errors.New(secret)
	cases := []struct {
		name string
		err  error
		kind Kind
		code codes.Code
		msg  string
	}{
		{"internal", Internal("load user", cause), KindInternal, codes.Internal, "load user"},
		{"invalid", Invalid("email", "must contain @"), KindInvalid, codes.InvalidArgument, "invalid email: must contain @"},
		{"unauthenticated", Unauthenticated("bad credentials"), KindUnauthenticated, codes.Unauthenticated, "bad credentials"},
		{"permission denied", PermissionDenied("admins only"), KindPermissionDenied, codes.PermissionDenied, "admins only"},
		{"not found", NotFound("no such user"), KindNotFound, codes.NotFound, "no such user"},
		{"already exists", AlreadyExists("username taken"), KindAlreadyExists, codes.AlreadyExists, "username taken"},
		{"failed precondition", FailedPrecondition("game not started"), KindFailedPrecondition, codes.FailedPrecondition, "game not started"},
		{"aborted", Aborted("conflict, retry"), KindAborted, codes.Aborted, "conflict, retry"},
		{"resource exhausted", ResourceExhausted("slow down", time.Second), KindResourceExhausted, codes.ResourceExhausted, "slow down"},
		{"unavailable", Unavailable("event log unavailable", cause), KindUnavailable, codes.Unavailable, "event log unavailable"},
		{"New", New(KindAborted, "x"), KindAborted, codes.Aborted, "x"},
		{"zero Error is internal", &Error{}, KindInternal, codes.Internal, ""},
	}
	seen := map[Kind]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.kind] = true
			if k := KindOf(tc.err); k != tc.kind {
				t.Fatalf("KindOf = %v, want %v", k, tc.kind)
			}
			if !Is(tc.err, tc.kind) {
				t.Fatalf("Is(err, %v) = false", tc.kind)
			}
			st := ToStatus(tc.err)
			if st.Code() != tc.code || st.Message() != tc.msg {
				t.Fatalf("ToStatus = %v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
			if c := Code(tc.err); c != tc.code {
				t.Fatalf("Code = %v, want %v", c, tc.code)
			}
			if strings.Contains(st.Message(), "hunter2") || strings.Contains(fmt.Sprint(st.Proto()), "hunter2") {
				t.Fatalf("status leaks the cause: %v", st.Proto())
			}
		})
	}
	for k := KindInternal; k <= KindUnavailable; k++ {
		if !seen[k] {
			t.Errorf("kind %d not covered", k)
		}
		if _, ok := kindCodes[k]; !ok {
			t.Errorf("kind %d has no gRPC code", k)
		}
	}
}

func badRequest(t *testing.T, st *status.Status) *errdetails.BadRequest {
	t.Helper()
	var out *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			out = d
		case error:
			t.Fatalf("undecodable detail: %v", d)
		}
	}
	return out
}

func TestFieldViolations(t *testing.T) {
	cases := []struct {
		name   string
		err    *Error
		msg    string
		fields []FieldViolation
	}{
		{"one field", Invalid("username", "too short"), "invalid username: too short",
			[]FieldViolation{{"username", "too short"}}},
		{"two fields", InvalidFields([]FieldViolation{{"username", "too short"}, {"email", "missing @"}}),
			"invalid username: too short (and 1 more)", []FieldViolation{{"username", "too short"}, {"email", "missing @"}}},
		{"three fields", InvalidFields([]FieldViolation{{"a", "x"}, {"b", "y"}, {"c", "z"}}),
			"invalid a: x (and 2 more)", []FieldViolation{{"a", "x"}, {"b", "y"}, {"c", "z"}}},
		{"no fields", InvalidFields(nil), "invalid request", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := ToStatus(fmt.Errorf("register: %w", tc.err))
			if st.Code() != codes.InvalidArgument || st.Message() != tc.msg {
				t.Fatalf("status = %v %q, want InvalidArgument %q", st.Code(), st.Message(), tc.msg)
			}
			br := badRequest(t, st)
			if len(tc.fields) == 0 {
				if br != nil || len(st.Details()) != 0 {
					t.Fatalf("unexpected details: %v", st.Details())
				}
				return
			}
			if br == nil {
				t.Fatalf("no BadRequest detail in %v", st.Details())
			}
			var got []FieldViolation
			for _, v := range br.GetFieldViolations() {
				got = append(got, FieldViolation{v.GetField(), v.GetDescription()})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.fields) {
				t.Fatalf("violations = %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestRetryInfo(t *testing.T) {
	cases := []struct {
		name  string
		after time.Duration
		want  bool
	}{
		{"seconds", 30 * time.Second, true},
		{"sub-second", 1500 * time.Millisecond, true},
		{"zero carries no RetryInfo", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := ToStatus(fmt.Errorf("login: %w", ResourceExhausted("too many attempts", tc.after)))
			if st.Code() != codes.ResourceExhausted || st.Message() != "too many attempts" {
				t.Fatalf("status = %v %q", st.Code(), st.Message())
			}
			var ri *errdetails.RetryInfo
			for _, d := range st.Details() {
				if d, ok := d.(*errdetails.RetryInfo); ok {
					ri = d
				}
			}
			if !tc.want {
				if ri != nil {
					t.Fatalf("unexpected RetryInfo %v", ri)
				}
				return
			}
			if ri == nil {
				t.Fatalf("no RetryInfo in %v", st.Details())
			}
			if got := ri.GetRetryDelay().AsDuration(); got != tc.after {
				t.Fatalf("retry delay = %v, want %v", got, tc.after)
			}
		})
	}
}

func TestCausesNeverLeak(t *testing.T) {
	cause := fmt.Errorf("query users: %w", errors.New(secret))
	cases := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"plain error", errors.New(secret), codes.Internal, "internal error"},
		{"wrapped plain error", fmt.Errorf("handler: %w", errors.New(secret)), codes.Internal, "internal error"},
		{"internal with cause", Internal("load account", cause), codes.Internal, "load account"},
		{"wrapped internal", fmt.Errorf("login %s: %w", secret, Internal("load account", cause)), codes.Internal, "load account"},
		{"unavailable with cause", Unavailable("database unavailable", cause), codes.Unavailable, "database unavailable"},
		{"doubly wrapped not found", fmt.Errorf("a: %w", fmt.Errorf("b %s: %w", secret, NotFound("no such game"))), codes.NotFound, "no such game"},
		{"joined", errors.Join(errors.New(secret), AlreadyExists("taken")), codes.AlreadyExists, "taken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := ToStatus(tc.err)
			if st.Code() != tc.code || st.Message() != tc.msg {
				t.Fatalf("ToStatus = %v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
			if Code(tc.err) != tc.code {
				t.Fatalf("Code = %v, want %v", Code(tc.err), tc.code)
			}
			// The cause is still there for logs.
			if !strings.Contains(tc.err.Error(), "hunter2") {
				t.Fatalf("Error() lost the cause: %q", tc.err.Error())
			}
		})
	}
	if !errors.Is(Internal("x", cause), cause) {
		t.Fatal("Unwrap does not expose the cause")
	}
}

func TestContextErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		code codes.Code
		kind Kind
	}{
		{"nil", nil, codes.OK, KindInternal},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, KindUnavailable},
		{"wrapped deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), codes.DeadlineExceeded, KindUnavailable},
		{"canceled", context.Canceled, codes.Canceled, KindUnavailable},
		{"wrapped canceled", fmt.Errorf("query: %w", context.Canceled), codes.Canceled, KindUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.err); got != tc.code {
				t.Fatalf("Code = %v, want %v", got, tc.code)
			}
			st := ToStatus(tc.err)
			if st.Code() != tc.code {
				t.Fatalf("ToStatus code = %v, want %v", st.Code(), tc.code)
			}
			if tc.err != nil {
				if KindOf(tc.err) != tc.kind {
					t.Fatalf("KindOf = %v, want %v", KindOf(tc.err), tc.kind)
				}
				if strings.Contains(st.Message(), "query") {
					t.Fatalf("message leaks wrapper text: %q", st.Message())
				}
			}
		})
	}
}

func TestStatusErrorsPassThrough(t *testing.T) {
	in := status.New(codes.NotFound, "no such thing")
	st := ToStatus(in.Err())
	if st.Code() != codes.NotFound || st.Message() != "no such thing" {
		t.Fatalf("ToStatus = %v %q", st.Code(), st.Message())
	}
	if Code(in.Err()) != codes.NotFound {
		t.Fatalf("Code = %v", Code(in.Err()))
	}
}

// An internal error whose cause is a downstream gRPC status must still be
// INTERNAL with only its own message (status.FromError would find the
// wrapped status through Unwrap and leak its code and text).
func TestStatusCauseDoesNotLeak(t *testing.T) {
	err := Internal("load profile", status.Error(codes.NotFound, "table profiles: "+secret))
	st := ToStatus(err)
	if st.Code() != codes.Internal || st.Message() != "load profile" {
		t.Fatalf("cause leaked: got %v %q", st.Code(), st.Message())
	}
}

// A Kind outside the table must not map to OK (a failed call reported as a
// success).
func TestUnknownKindIsNotOK(t *testing.T) {
	st := ToStatus(New(Kind(99), "boom"))
	if st.Code() == codes.OK {
		t.Fatalf("unknown Kind maps to OK; st.Err() = %v", st.Err())
	}
	if st.Code() != codes.Internal {
		t.Fatalf("unknown kind code = %v, want Internal", st.Code())
	}
}
