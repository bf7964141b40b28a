package templates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// Backend is what the template routes need of a scheduler node (node.Node
// has it): the normal submit path and who leads.
type Backend interface {
	Submit(ctx context.Context, sp *job.Spec) (*job.Job, error)
	IsLeader() bool
	LeaderURL(ctx context.Context) string
}

var _ Backend = (*node.Node)(nil)

// HandlerConfig configures Handler.
type HandlerConfig struct {
	Store   Store
	Backend Backend
	Log     *slog.Logger
}

// Pushed is the answer to PUT /v1/templates/{name}.
type Pushed struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Unchanged: the document equals the latest version, which is
	// answered instead of storing a copy.
	Unchanged bool `json:"unchanged,omitempty"`
}

// Submitted is the answer to POST /v1/templates/{name}/jobs.
type Submitted struct {
	ID       string `json:"id"`
	Template string `json:"template"`
	Version  int    `json:"version"`
}

// Handler serves the template routes; mount it (api.Config.Mount) at
// "/v1/templates" and "/v1/templates/" so it sits behind the API's
// authentication (GET read-only, the rest admin):
//
//	GET    /v1/templates                    []Summary
//	PUT    /v1/templates/{name}             a template document → 201 Pushed
//	GET    /v1/templates/{name}[?version=N] Version
//	DELETE /v1/templates/{name}             every version
//	POST   /v1/templates/{name}/jobs        RunRequest → 201 Submitted
//
// Writes on a standby are redirected (307) to the leader before their
// body is read, as job submits are.
func Handler(cfg HandlerConfig) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h := &handler{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/templates", h.list)
	mux.HandleFunc("PUT /v1/templates/{name}", h.leaderOnly(h.push))
	mux.HandleFunc("GET /v1/templates/{name}", h.get)
	mux.HandleFunc("DELETE /v1/templates/{name}", h.leaderOnly(h.delete))
	mux.HandleFunc("POST /v1/templates/{name}/jobs", h.leaderOnly(h.run))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, api.Error{Error: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

type handler struct{ cfg HandlerConfig }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, e api.Error) { writeJSON(w, code, e) }

// leaderOnly redirects a write that reached a standby to the leader (307
// keeps method and body) before anything is read, or answers 503
// no_leader while none is elected.
func (h *handler) leaderOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Backend.IsLeader() {
			next(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		h.fail(w, r, &node.NotLeaderError{LeaderURL: h.cfg.Backend.LeaderURL(ctx)})
	}
}

// fail maps an error to its answer: 400 naming the field, 404, 409 for
// the count bound, 307/503 off the leader, 500 otherwise.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var nl *node.NotLeaderError
	switch fe, isField := spec.AsFieldError(err); {
	case isField:
		writeErr(w, http.StatusBadRequest, api.Error{Error: err.Error(), Field: fe.Field})
	case errors.As(err, &nl):
		if nl.LeaderURL != "" && r.Header.Get("X-Gleaner-No-Redirect") == "" {
			w.Header().Set("Location", strings.TrimSuffix(nl.LeaderURL, "/")+r.URL.RequestURI())
			writeErr(w, http.StatusTemporaryRedirect, api.Error{Error: err.Error(), Leader: nl.LeaderURL})
			return
		}
		e := api.Error{Error: err.Error(), Leader: nl.LeaderURL}
		if nl.LeaderURL == "" {
			e.Code = api.CodeNoLeader
		}
		writeErr(w, http.StatusServiceUnavailable, e)
	case errors.Is(err, ErrNotFound):
		writeErr(w, http.StatusNotFound, api.Error{Error: err.Error(), Field: "name"})
	case errors.Is(err, ErrTooMany):
		writeErr(w, http.StatusConflict, api.Error{Error: err.Error(), Field: "name"})
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, store.ErrNotLeader), errors.Is(err, ErrContended):
		writeErr(w, http.StatusServiceUnavailable, api.Error{Error: err.Error()})
	default:
		h.cfg.Log.Error("templates api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeErr(w, http.StatusInternalServerError, api.Error{Error: err.Error()})
	}
}

// readBody reads at most max bytes (413 beyond), reporting false when it
// answered.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		writeErr(w, http.StatusRequestEntityTooLarge, api.Error{Error: fmt.Sprintf("body larger than %d bytes", max), Field: "body"})
		return nil, false
	case err != nil:
		writeErr(w, http.StatusBadRequest, api.Error{Error: "read body: " + err.Error(), Field: "body"})
		return nil, false
	}
	return b, true
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	l, err := h.cfg.Store.List(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// versionParam reads ?version=N (0, the latest, when absent).
func versionParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("version")
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, &fielderr.FieldError{Field: "version", Msg: fmt.Sprintf("%q is not a version (a number ≥ 1)", s)}
	}
	return v, nil
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	v, err := versionParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	got, err := h.cfg.Store.Get(ctx, name, v)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

func (h *handler) push(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	body, ok := readBody(w, r, MaxTemplateBytes)
	if !ok {
		return
	}
	t, err := Parse(name, body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if latest, err := h.cfg.Store.Get(ctx, name, 0); err == nil && sameTemplate(&latest.Template, t) {
		writeJSON(w, http.StatusOK, Pushed{Name: name, Version: latest.Version, Unchanged: true})
		return
	}
	id, _ := auth.FromContext(r.Context())
	v, err := h.cfg.Store.Push(ctx, name, t, id.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.cfg.Log.Info("template pushed", "template", name, "version", v.Version, "who", id.Name)
	w.Header().Set("Location", fmt.Sprintf("/v1/templates/%s?version=%d", name, v.Version))
	writeJSON(w, http.StatusCreated, Pushed{Name: name, Version: v.Version})
}

// sameTemplate compares two templates as stored (their JSON forms).
func sameTemplate(a, b *expand.Template) bool {
	var x, y any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := h.cfg.Store.Delete(ctx, name); err != nil {
		h.fail(w, r, err)
		return
	}
	id, _ := auth.FromContext(r.Context())
	h.cfg.Log.Info("template deleted", "template", name, "who", id.Name)
	writeJSON(w, http.StatusOK, map[string]string{"name": name, "state": "deleted"})
}

func (h *handler) run(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	body, ok := readBody(w, r, MaxRunRequestBytes)
	if !ok {
		return
	}
	req, err := ParseRunRequest(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	v, err := h.cfg.Store.Get(ctx, name, req.Version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sp, err := Instantiate(v, req.Params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.cfg.Backend.Submit(ctx, sp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.cfg.Log.Info("job submitted from template", "job", j.ID, "template", name, "version", v.Version)
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusCreated, Submitted{ID: j.ID, Template: name, Version: v.Version})
}
