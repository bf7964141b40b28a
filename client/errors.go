package client

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors an *APIError matches with errors.Is.
var (
	// ErrNotFound: 404, no such job, task, instance, agent or route.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: 401, no token or an unknown one.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: 403, a read-only token on a write.
	ErrForbidden = errors.New("forbidden")
	// ErrNoLeader: 503 while no scheduler leads (after the wait for one,
	// bounded by the request timeout, ran out).
	ErrNoLeader = errors.New("no leader is elected")
	// ErrBadRequest: 400, the request (a spec, a query parameter) was
	// refused; APIError.Field names what was wrong.
	ErrBadRequest = errors.New("bad request")
	// ErrConflict: 409, the job is not in a state the verb applies to.
	ErrConflict = errors.New("conflict")
)

// CodeNoLeader is the "code" of the API's 503 while no leader is elected.
const CodeNoLeader = "no_leader"

// APIError is a non-2xx answer of the API.
type APIError struct {
	// Method and Path are the request's.
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Message is the API's "error"; Field names the field or parameter it
	// is about ("tasks[0].command", "state", "id"), if any.
	Message string
	Field   string
	// Code is a machine-readable reason ("no_leader"), Leader the leader's
	// URL when a standby answered.
	Code   string
	Leader string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s (field %s)", msg, e.Field)
	}
	return msg
}

// Is matches the sentinel errors by status (and code for ErrNoLeader).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNoLeader:
		return e.Status == http.StatusServiceUnavailable && e.Code == CodeNoLeader
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// retriable reports whether a watch may reconnect after err: the network
// or the server broke off, not the request itself.
func retriable(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return true
	}
	return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests
}
