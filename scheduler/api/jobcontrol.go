package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/queue"
	"github.com/gleaner-project/gleaner/scheduler/schema"
)

// BatchBackend is what the batch-model verbs need; node.Node has it. A
// Backend without it answers 501 on those paths.
type BatchBackend interface {
	Suspend(ctx context.Context, id string) (*job.Job, error)
	Resume(ctx context.Context, id string) (*job.Job, error)
	Retry(ctx context.Context, id string, upstream bool) (*job.Job, error)
	// Purge deletes a finished job's records (a *node.ConflictError
	// while it still runs).
	Purge(ctx context.Context, id string) (*job.Job, error)
}

var _ BatchBackend = (*node.Node)(nil)

// batchRoutes adds POST /v1/jobs/{id}/suspend|resume|retry|purge and GET
// /v1/schema.
func (s *server) batchRoutes(mux *http.ServeMux) {
	s.handle(mux, "POST /v1/jobs/{id}/suspend", noBody, s.batchVerb("suspended", func(ctx context.Context, b BatchBackend, id string, _ *http.Request) (*job.Job, error) {
		return b.Suspend(ctx, id)
	}))
	s.handle(mux, "POST /v1/jobs/{id}/resume", noBody, s.batchVerb("resumed", func(ctx context.Context, b BatchBackend, id string, _ *http.Request) (*job.Job, error) {
		return b.Resume(ctx, id)
	}))
	s.handle(mux, "POST /v1/jobs/{id}/retry", noBody, s.batchVerb("retrying", func(ctx context.Context, b BatchBackend, id string, r *http.Request) (*job.Job, error) {
		up := false
		if v := r.URL.Query().Get("upstream"); v != "" {
			var err error
			if up, err = strconv.ParseBool(v); err != nil {
				return nil, &queryError{"upstream must be true or false, got " + strconv.Quote(v)}
			}
		}
		return b.Retry(ctx, id, up)
	}))
	s.handle(mux, "POST /v1/jobs/{id}/purge", noBody, s.batchVerb("deleted", func(ctx context.Context, b BatchBackend, id string, _ *http.Request) (*job.Job, error) {
		return b.Purge(ctx, id)
	}))
	s.handle(mux, "GET "+schema.Path, noBody, schema.Handler())
	// The queue routes answer to the instances' own queue tokens, not
	// API tokens; the queue handler authenticates them itself.
	if qb, ok := s.b.(interface{ Queue() *queue.Queue }); ok && qb.Queue() != nil {
		h := queue.Handler(qb.Queue(), s.log)
		h = limitBody(s.cfg.MaxMountBody, h)
		mux.Handle("/v1/jobs/{id}/queue", h)
		mux.Handle("/v1/jobs/{id}/queue/", h)
	}
}

type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func (s *server) batchVerb(done string, f func(context.Context, BatchBackend, string, *http.Request) (*job.Job, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.b.(BatchBackend)
		if !ok {
			writeErr(w, http.StatusNotImplemented, Error{Error: "this backend does not suspend, resume, retry or purge jobs"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		j, err := f(ctx, b, r.PathValue("id"), r)
		var ce *node.ConflictError
		var qe *queryError
		switch {
		case errors.As(err, &qe):
			writeErr(w, http.StatusBadRequest, Error{Error: err.Error(), Field: "upstream"})
		case errors.As(err, &ce):
			writeErr(w, http.StatusConflict, Error{Error: err.Error(), Field: "id"})
		case err != nil:
			s.backendErr(w, r, err)
		default:
			writeJSON(w, http.StatusAccepted, map[string]string{"id": j.ID, "state": done})
		}
	}
}
