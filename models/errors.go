package models

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Kind classifies an error; app maps each kind to one HTTP status.
type Kind string

// The error vocabulary of Jianfu.
const (
	KindNotFound     Kind = "not_found"    // 404: missing, or another school's
	KindInvalid      Kind = "invalid"      // 400: malformed input
	KindRule         Kind = "rule"         // 422: a 双减 rule or a business limit says no
	KindConflict     Kind = "conflict"     // 409: duplicate or stale state
	KindForbidden    Kind = "forbidden"    // 403: known to the caller but not theirs to do
	KindUnauthorized Kind = "unauthorized" // 401: not signed in, bad credentials
	KindTooMany      Kind = "too_many"     // 429: throttled
	// KindUnavailable is the database (or another dependency) failing, not
	// the client: 503 with Retry-After, logged. Never a 400/401.
	KindUnavailable Kind = "unavailable"
)

// Error is an error a user can read: Code is the stable API code, MsgID the
// catalog key of its message, Params fill the message, Details go to the client.
type Error struct {
	Kind    Kind
	Code    string
	MsgID   string
	Params  map[string]any
	Details map[string]any
	Field   string // the form field the message belongs next to, if one
	Err     error  // the cause, never shown to users
	// RetryAfter, when set, tells the client when to try again (the
	// Retry-After header of a 429 or 503).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%s): %v", e.Code, e.MsgID, e.Err)
	}
	return fmt.Sprintf("%s (%s)", e.Code, e.MsgID)
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors for the common cases.
var (
	ErrNotFound = &Error{Kind: KindNotFound, Code: "not_found", MsgID: "error.not_found"}
	ErrConflict = &Error{Kind: KindConflict, Code: "conflict", MsgID: "error.conflict"}
)

// Invalid is a 400 with a message id and parameters.
func Invalid(msgID string, params map[string]any) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid_input", MsgID: msgID, Params: params}
}

// RuleError is a 422 refusal by a named rule: details carry "rule".
func RuleError(code, rule, msgID string, params, details map[string]any) *Error {
	if details == nil {
		details = map[string]any{}
	}
	details["rule"] = rule
	if params == nil {
		params = map[string]any{}
	}
	params["Rule"] = rule
	return &Error{Kind: KindRule, Code: code, MsgID: msgID, Params: params, Details: details}
}

// NotFoundIf turns gorm's record-not-found into ErrNotFound.
func NotFoundIf(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return &Error{Kind: KindConflict, Code: "conflict", MsgID: "error.conflict", Err: err}
	}
	return err
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Wrap adds where an error came from, in the style of pkgsite's
// derrors.Wrap: `defer models.Wrap(&err, "CreateHomework(class %d)", id)` at
// the top of a function that can fail. A user-facing *Error passes through
// unchanged (its code and message are already the answer); anything else —
// a database or I/O failure — gets the operation prefixed with %w, so
// errors.Is/As still see the cause.
func Wrap(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	var e *Error
	if errors.As(*errp, &e) {
		return
	}
	*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
}

func wrap(errp *error, format string, args ...any) { Wrap(errp, format, args...) }
