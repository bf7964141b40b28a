package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/node"
)

// RunNower starts a run of a scheduled job outside its schedule; node.Node
// has it. A Backend without it answers 501 on POST /v1/jobs/{id}/run-now.
type RunNower interface {
	RunNow(ctx context.Context, id string) (string, error)
}

var _ RunNower = (*node.Node)(nil)

// runNow answers POST /v1/jobs/{id}/run-now: 202 with the new run's ID,
// 409 when the job has no schedule, 404 when there is no such job.
func (s *server) runNow(w http.ResponseWriter, r *http.Request) {
	b, ok := s.b.(RunNower)
	if !ok {
		writeErr(w, http.StatusNotImplemented, Error{Error: "this backend does not run scheduled jobs"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	run, err := b.RunNow(ctx, r.PathValue("id"))
	var ce *node.ConflictError
	switch {
	case errors.As(err, &ce):
		writeErr(w, http.StatusConflict, Error{Error: err.Error(), Field: "id"})
	case err != nil:
		s.backendErr(w, r, err)
	default:
		w.Header().Set("Location", "/v1/jobs/"+run)
		writeJSON(w, http.StatusAccepted, map[string]string{"id": r.PathValue("id"), "state": "started", "run": run})
	}
}
