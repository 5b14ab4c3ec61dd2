package projection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// IsTransient reports whether err is an infrastructure failure: something
// about the database, Redis, the network or the process (shutdown), not
// about the record being applied. Transient failures are retried for as long
// as it takes and never dead-lettered: the same record will apply once the
// infrastructure is back. Every other failure is deterministic — the record
// or the projector's code is at fault, and retrying the same record against
// the same code will fail the same way — so the runner gives up on the
// record after a few attempts and dead-letters it.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var panicked *PanicError
	if errors.As(err, &panicked) {
		return false // a bug in Apply, whatever it wraps
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return transientSQLState(pgErr.Code)
	}
	if pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var redisErr redis.Error
	if errors.As(err, &redisErr) {
		return transientRedisError(redisErr.Error())
	}
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	for _, cause := range []error{io.EOF, io.ErrUnexpectedEOF, net.ErrClosed, syscall.ECONNREFUSED,
		syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, cause) {
			return true // a connection that broke mid-conversation
		}
	}
	return false
}

// transientSQLState sorts PostgreSQL error codes (SQLSTATE; see the
// "PostgreSQL Error Codes" appendix) into infrastructure failures and the
// rest. Data and constraint errors (classes 22, 23) and everything not
// listed are deterministic.
func transientSQLState(code string) bool {
	switch code {
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"55P03", // lock_not_available (lock_timeout)
		"57014", // query_canceled (statement_timeout, pg_cancel_backend)
		"25006", // read_only_sql_transaction: a failover left us on a standby
		"25P03": // idle_in_transaction_session_timeout
		return true
	}
	if len(code) < 2 {
		return false
	}
	switch code[:2] {
	case "08", // connection exception
		"53", // insufficient resources: disk full, out of memory, too many connections
		"57", // operator intervention: admin/crash shutdown, cannot connect now
		"58", // system error: I/O error
		"XX", // internal error, data corrupted: the database is broken, not the record
		// Syntax error or access rule violation: an undefined table or column,
		// a missing privilege. That is a deploy out of step with the schema
		// (e.g. code ahead of its migration); it would fail every record
		// alike, so waiting for the fix beats dead-lettering the whole topic.
		"42":
		return true
	}
	return false
}

// transientRedisError: replies a Redis server gives while it is loading,
// failing over, out of memory or busy; other replies (WRONGTYPE, script
// errors) are about the command and deterministic.
func transientRedisError(msg string) bool {
	msg = strings.TrimPrefix(msg, "ERR ")
	for _, prefix := range []string{"LOADING", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "OOM", "BUSY", "NOREPLICAS"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// PanicError is a panic inside a projector's Apply, recovered by the runner
// and treated as a deterministic failure of the record being applied.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic in Apply: %v", e.Value) }

// Unwrap exposes a panic value that is an error (e.g. a runtime error).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// protect runs apply and turns a panic into a *PanicError, so one record's
// bug cannot crash the process (which would only meet the record again on
// restart).
func protect(apply func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return apply()
}
