package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// RetryAfterUnavailable is what a client is told to wait when the database
// does not answer: replicas reconnect within a second of it coming back.
const RetryAfterUnavailable = 2 * time.Second

// Unavailable wraps a database failure as a 503 the user can read; the cause
// stays in Err for the log.
func Unavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Code: "unavailable", MsgID: "error.unavailable", Err: err,
		RetryAfter: RetryAfterUnavailable}
}

// IsUnavailable reports whether err means the database could not answer
// (down, restarting, unreachable, out of connections, timed out, disk full or
// locked) rather than refusing the request: such an error is a 503, never a
// 400, 401 or a "not found".
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := AsError(err); ok {
		if e.Kind == KindUnavailable {
			return true
		}
		if e.Err == nil {
			return false
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"), // insufficient resources: too many clients, disk full
			strings.HasPrefix(pe.Code, "57"), // operator intervention: shutdown, statement timeout (57014)
			pe.Code == "55P03",               // lock_not_available: lock_timeout
			pe.Code == "40001",               // serialization_failure
			pe.Code == "40P01":               // deadlock_detected
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// SQLite (modernc) reports by message: a locked or busy database, a full
	// disk, a read-only or vanished file, an I/O error.
	msg := err.Error()
	for _, s := range []string{"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN",
		"database is locked", "database or disk is full", "disk I/O error", "sql: database is closed",
		"unexpected EOF", "conn closed", "failed to connect"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
