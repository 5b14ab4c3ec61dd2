// Package apperr is the platform's error vocabulary. Handlers return these
// (wrapped with context as they travel up); the gRPC edge maps them to a
// status exactly once (see ToStatus), so domain code never imports grpc/codes.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindPermissionDenied
	KindNotFound
	KindAlreadyExists
	KindFailedPrecondition
	KindAborted
	KindResourceExhausted
	KindUnavailable
	// KindOutOfRange: a position past what is kept (a live stream's resume
	// id that left its window).
	KindOutOfRange
)

// FieldViolation names one invalid request field.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a classified error with an optional cause.
type Error struct {
	Kind       Kind
	Message    string // safe to show to clients
	Fields     []FieldViolation
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Invalid reports a bad request field.
func Invalid(field, description string) *Error {
	return &Error{Kind: KindInvalid, Message: fmt.Sprintf("invalid %s: %s", field, description),
		Fields: []FieldViolation{{Field: field, Description: description}}}
}

// InvalidFields reports several bad request fields at once.
func InvalidFields(v []FieldViolation) *Error {
	msg := "invalid request"
	if len(v) > 0 {
		msg = fmt.Sprintf("invalid %s: %s", v[0].Field, v[0].Description)
		if len(v) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(v)-1)
		}
	}
	return &Error{Kind: KindInvalid, Message: msg, Fields: v}
}

func New(kind Kind, msg string) *Error { return &Error{Kind: kind, Message: msg} }

func Unauthenticated(msg string) *Error    { return New(KindUnauthenticated, msg) }
func PermissionDenied(msg string) *Error   { return New(KindPermissionDenied, msg) }
func NotFound(msg string) *Error           { return New(KindNotFound, msg) }
func AlreadyExists(msg string) *Error      { return New(KindAlreadyExists, msg) }
func FailedPrecondition(msg string) *Error { return New(KindFailedPrecondition, msg) }
func Aborted(msg string) *Error            { return New(KindAborted, msg) }
func OutOfRange(msg string) *Error         { return New(KindOutOfRange, msg) }

// ResourceExhausted tells the client to back off for retryAfter.
func ResourceExhausted(msg string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindResourceExhausted, Message: msg, RetryAfter: retryAfter}
}

// Unavailable marks a dependency outage; the client may retry.
func Unavailable(msg string, cause error) *Error {
	return &Error{Kind: KindUnavailable, Message: msg, Cause: cause}
}

// Internal hides cause from clients but keeps it for logs.
func Internal(msg string, cause error) *Error {
	return &Error{Kind: KindInternal, Message: msg, Cause: cause}
}

// KindOf returns the kind of the first *Error in err's chain. Context
// cancellation and deadlines classify as unavailable so they never surface as
// INTERNAL.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return KindUnavailable
	}
	return KindInternal
}

// Is reports whether err carries the given kind.
func Is(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}
