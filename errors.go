// Package ragd holds the domain types shared by every ragd package: the one
// error type with its codes. The HTTP status for each code is chosen in
// exactly one place, the server's error handler.
package ragd

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and error type in server/errors.go.
const (
	EINVALID       = "invalid_request"      // 400: malformed or missing fields
	EUNAUTHORIZED  = "invalid_api_key"      // 401
	EFORBIDDEN     = "permission_denied"    // 403
	ENOTFOUND      = "not_found"            // 404
	EMETHOD        = "method_not_allowed"   // 405: the route exists, not with this method
	ECONFLICT      = "conflict"             // 409
	ETOOLARGE      = "too_large"            // 413
	EUNSUPPORTED   = "unsupported_type"     // 415
	EUNPROCESSABLE = "unprocessable"        // 422: well formed but unusable
	ERATELIMIT     = "rate_limit_exceeded"  // 429
	EINTERNAL      = "internal_error"       // 500
	EUNAVAILABLE   = "upstream_unavailable" // 503: a model provider is down
	ETIMEOUT       = "upstream_timeout"     // 504: a model provider did not answer in time
)

// Error is the error type of every failure a client may see. Code is one of
// the E* constants (or a more specific machine code whose Kind is one of
// them), Message is a sentence that says what to fix, Param names the
// offending field when there is one.
type Error struct {
	// Kind is one of the E* constants and decides the HTTP status.
	Kind string
	// Code is the machine code shown to clients; empty means Kind.
	Code string
	// Message is shown to clients verbatim.
	Message string
	// Param is the request field at fault, if any.
	Param string
	// Err is an underlying cause, logged but never shown.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.ClientCode(), e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.ClientCode(), e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ClientCode is the machine code shown to clients.
func (e *Error) ClientCode() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Kind
}

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about the named request field.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Kind: EINVALID, Param: param, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns an ENOTFOUND error naming the missing thing.
func NotFound(what, id string) *Error {
	return &Error{Kind: ENOTFOUND, Message: fmt.Sprintf("%s %q not found", what, id)}
}

// ErrorKind returns the kind of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise.
func ErrorKind(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EINTERNAL
}
