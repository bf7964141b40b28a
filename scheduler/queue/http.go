package queue

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/auth"
)

// Handler serves job queues to their workers:
//
//	GET  /v1/jobs/{id}/queue/next         200 {id, data} | 204 empty | 503 busy (Retry-After)
//	POST /v1/jobs/{id}/queue/{item}/done  204 | 409 not held by this token
//	POST /v1/jobs/{id}/queue/heartbeat    204: keep this worker's claims alive
//	GET  /v1/jobs/{id}/queue              200 {remaining, claimed}
//
// Every route needs "Authorization: Bearer <token>" with the instance's
// token ($GLEANER_QUEUE_TOKEN): 401 when missing or unknown, 403 when it
// belongs to another job. Errors are JSON {error, field}, as in the job
// API. Mount it in the API with api.Config.Mount["/v1/jobs/{id}/queue"]
// and ["/v1/jobs/{id}/queue/"].
func Handler(q *Queue, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{q: q, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs/{id}/queue/next", h.auth(h.next))
	mux.HandleFunc("POST /v1/jobs/{id}/queue/heartbeat", h.auth(h.heartbeat))
	mux.HandleFunc("POST /v1/jobs/{id}/queue/{item}/done", h.auth(h.done))
	mux.HandleFunc("GET /v1/jobs/{id}/queue", h.auth(h.stats))
	return mux
}

type handler struct {
	q   *Queue
	log *slog.Logger
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

type authed func(ctx context.Context, w http.ResponseWriter, r *http.Request, job, tok string)

func (h *handler) auth(next authed) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := auth.BearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gleaner-queue"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing queue token (Authorization: Bearer $" + EnvToken + ")", Field: "Authorization"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		next(ctx, w, r, r.PathValue("id"), tok)
	}
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnknownToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="gleaner-queue"`)
		writeJSON(w, http.StatusUnauthorized, apiError{Error: err.Error(), Field: "Authorization"})
	case errors.Is(err, ErrWrongJob):
		writeJSON(w, http.StatusForbidden, apiError{Error: err.Error(), Field: "id"})
	case errors.Is(err, ErrNotHolder):
		writeJSON(w, http.StatusConflict, apiError{Error: err.Error(), Field: "item"})
	case errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: err.Error()})
	default:
		h.log.Error("queue", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: err.Error()})
	}
}

func (h *handler) next(ctx context.Context, w http.ResponseWriter, r *http.Request, job, tok string) {
	item, st, err := h.q.Next(ctx, job, tok)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch st {
	case Empty:
		w.WriteHeader(http.StatusNoContent)
	case Busy:
		retry := max(1, int(h.q.TTL()/time.Second/4))
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "every remaining item is held by a live worker; ask again after Retry-After seconds"})
	default:
		writeJSON(w, http.StatusOK, item)
	}
}

func (h *handler) done(ctx context.Context, w http.ResponseWriter, r *http.Request, job, tok string) {
	if err := h.q.Done(ctx, job, tok, r.PathValue("item")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) heartbeat(ctx context.Context, w http.ResponseWriter, r *http.Request, job, tok string) {
	if err := h.q.Touch(ctx, job, tok); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) stats(ctx context.Context, w http.ResponseWriter, r *http.Request, job, tok string) {
	if err := h.q.Touch(ctx, job, tok); err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.q.Stats(ctx, job)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}
