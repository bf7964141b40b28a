package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/metrics"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Backend is what the API needs from a scheduler node.
type Backend interface {
	Submit(ctx context.Context, sp *job.Spec) (*job.Job, error)
	Kill(ctx context.Context, id string) (*job.Job, error)
	// Store serves reads (on standbys too).
	Store() store.Store
	IsLeader() bool
	Subscribed() bool
	// LeaderURL is the API URL the current leader advertised ("" when
	// no leader is elected).
	LeaderURL(ctx context.Context) string
}

var (
	_ Backend         = (*node.Node)(nil)
	_ MonitorReporter = (*node.Node)(nil)
)

// Config configures the handler.
type Config struct {
	// Auth decides who may call the API: every route but /healthz needs a
	// bearer token whose role allows it (GET routes read-only, the rest
	// admin). The zero Guard knows no token and refuses everything (fail
	// closed); Guard{Insecure: true} is --insecure-no-auth.
	Auth auth.Guard
	// MaxBody bounds a submitted spec (default 4 MiB).
	MaxBody int64
	Logger  *slog.Logger
	// Mount adds handlers for other path patterns (e.g. "/v1/agents/" for
	// scheduler/attrs), served beside the job API behind the same
	// authentication, with bodies bounded by MaxMountBody.
	Mount map[string]http.Handler
	// MaxMountBody bounds a request body to a mounted handler (default
	// 64 KiB).
	MaxMountBody int64
	// Timeouts of the server NewServer makes; streams (watch, logs)
	// extend their write deadline by Timeouts.Write before each write.
	Timeouts Timeouts
	// UI serves the web UI's static files (scheduler/ui) at GET /ui/,
	// without a token (they hold no data; the page asks for one), and GET
	// / redirects there. Nil: no UI.
	UI http.Handler
	// ArtifactStoreURL is the scheduler's artifact store (no credentials),
	// for the URLs of attempts' artifacts; "" shows their keys only.
	ArtifactStoreURL string
	// Statuses, when set, serves watches after their first line: the
	// status of every job as something that follows them all derives it
	// (the event detector), instead of each watch reading its job's
	// records again. Nil: each watch reads them (at most every
	// watchWait).
	Statuses StatusSource
}

// StatusSource is Config.Statuses (events.Detector).
type StatusSource interface {
	// JobStatus is the job's status as last derived; false for a job it
	// does not know (yet, or any more).
	JobStatus(id string) (job.Status, bool)
	// StatusesChanged is closed once a later JobStatus may answer
	// differently.
	StatusesChanged() <-chan struct{}
}

// Error is the JSON body of every error response.
type Error struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	// Leader is the leader's API URL when a write reached a standby.
	Leader string `json:"leader,omitempty"`
	// Code is CodeNoLeader when a write found no leader elected (clients
	// may wait for one and retry).
	Code string `json:"code,omitempty"`
}

// CodeNoLeader is Error.Code of a 503 answered while no leader is elected.
const CodeNoLeader = "no_leader"

// Instance is the body of GET /v1/jobs/{id}/tasks/{task}/instances/{index}.
type Instance struct {
	Job      string        `json:"job"`
	Task     string        `json:"task"`
	Index    int           `json:"index"`
	State    job.State     `json:"state"`
	Attempts []AttemptView `json:"attempts"`
}

// AttemptView is one attempt as the API shows it.
type AttemptView struct {
	TaskID   string           `json:"taskId"`
	Attempt  int              `json:"attempt"`
	State    job.AttemptState `json:"state"`
	AgentID  string           `json:"agentId,omitempty"`
	Hostname string           `json:"hostname,omitempty"`
	ExitCode *int             `json:"exitCode,omitempty"`
	Reason   string           `json:"reason,omitempty"`
	Message  string           `json:"message,omitempty"`
	Created  time.Time        `json:"created"`
	Started  *time.Time       `json:"started,omitempty"`
	Ended    *time.Time       `json:"ended,omitempty"`
	// Signal is the terminating signal, Verdict the retry decision taken
	// when the attempt ended, NotBefore when the next attempt may start.
	Signal    int        `json:"signal,omitempty"`
	Verdict   string     `json:"verdict,omitempty"`
	NotBefore *time.Time `json:"notBefore,omitempty"`
	// Outputs are the output parameters a succeeded attempt left.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Artifacts are the output artifacts it uploaded (artifacts.go).
	Artifacts []ArtifactView `json:"artifacts,omitempty"`
}

type server struct {
	b   Backend
	cfg Config
	log *slog.Logger
}

// Handler returns the API's http.Handler.
func Handler(b Backend, cfg Config) http.Handler {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 4 << 20
	}
	if cfg.MaxMountBody == 0 {
		cfg.MaxMountBody = 64 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Timeouts = cfg.Timeouts.withDefaults()
	s := &server{b: b, cfg: cfg, log: cfg.Logger}
	mux := http.NewServeMux()
	s.handle(mux, "POST /v1/jobs", cfg.MaxBody, http.HandlerFunc(s.submit))
	s.handle(mux, "GET /v1/jobs", noBody, http.HandlerFunc(s.list))
	s.handle(mux, "GET /v1/jobs/{id}", noBody, http.HandlerFunc(s.get))
	s.handle(mux, "GET /v1/jobs/{id}/spec", noBody, http.HandlerFunc(s.spec))
	s.handle(mux, "POST /v1/jobs/{id}/run-now", noBody, http.HandlerFunc(s.runNow))
	s.handle(mux, "DELETE /v1/jobs/{id}", noBody, http.HandlerFunc(s.kill))
	s.handle(mux, "GET /v1/jobs/{id}/watch", noBody, s.stream(s.watch))
	s.handle(mux, "GET /v1/jobs/{id}/tasks/{task}/instances/{index}", noBody, http.HandlerFunc(s.instance))
	s.handle(mux, "GET /v1/jobs/{id}/instances", noBody, http.HandlerFunc(s.instances))
	s.handle(mux, "GET /v1/whoami", noBody, http.HandlerFunc(s.whoami))
	s.handle(mux, "GET /v1/jobs/{id}/tasks/{task}/instances/{index}/logs", noBody, s.stream(s.logs))
	s.batchRoutes(mux)
	s.handle(mux, "GET /metrics", noBody, promhttp.Handler())
	mux.Handle("GET /healthz", metrics.InstrumentRoute("GET /healthz", http.HandlerFunc(s.healthz))) // the one public route, with the UI's static files
	if cfg.UI != nil {
		mux.Handle("GET /ui/", cfg.UI)
		mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	}
	for pattern, h := range cfg.Mount {
		s.handle(mux, pattern, cfg.MaxMountBody, h)
	}
	s.handle(mux, "/", noBody, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, Error{Error: "no such endpoint: " + r.Method + " " + r.URL.Path})
	}))
	return mux
}

// noBody is the body limit of routes that take none.
const noBody = 4 << 10

// handle registers h behind authentication (the role NeedFor the method)
// and a body limit of maxBody bytes (413 beyond it), counted and timed
// under its pattern (scheduler/metrics; refusals too).
func (s *server) handle(mux *http.ServeMux, pattern string, maxBody int64, h http.Handler) {
	mux.Handle(pattern, metrics.InstrumentRoute(pattern, auth.Require(s.cfg.Auth, nil, s.audit(limitBody(maxBody, h)))))
}

// audit logs every authenticated write with the token's name.
func (s *server) audit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.NeedFor(r.Method) == auth.Admin {
			id, _ := auth.FromContext(r.Context())
			s.log.Info("api write", "who", id.Name, "method", r.Method, "path", r.URL.Path)
		}
		h.ServeHTTP(w, r)
	})
}

// limitBody answers 413 to a request declaring a body over max bytes and
// bounds the body's reads, so a handler reading further gets an
// *http.MaxBytesError (see tooLarge).
func limitBody(max int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeErr(w, http.StatusRequestEntityTooLarge, Error{Error: fmt.Sprintf("request body of %d bytes; this route takes at most %d", r.ContentLength, max), Field: "body"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		h.ServeHTTP(w, r)
	})
}

// tooLarge reports whether err is a body read stopped by limitBody.
func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, e Error) { writeJSON(w, code, e) }

// backendErr maps backend errors to HTTP answers; a standby redirects
// writes to the leader (307 keeps method and body).
func (s *server) backendErr(w http.ResponseWriter, r *http.Request, err error) {
	var nl *node.NotLeaderError
	var fe *fielderr.FieldError
	switch {
	case errors.As(err, &fe): // a spec this scheduler refuses (scheduler/isolation)
		writeErr(w, http.StatusBadRequest, Error{Error: err.Error(), Field: fe.Field})
	case errors.As(err, &nl):
		if nl.LeaderURL != "" && r.Header.Get("X-Gleaner-No-Redirect") == "" {
			w.Header().Set("Location", strings.TrimSuffix(nl.LeaderURL, "/")+r.URL.RequestURI())
			writeErr(w, http.StatusTemporaryRedirect, Error{Error: err.Error(), Leader: nl.LeaderURL})
			return
		}
		e := Error{Error: err.Error(), Leader: nl.LeaderURL}
		if nl.LeaderURL == "" {
			e.Code = CodeNoLeader
		}
		writeErr(w, http.StatusServiceUnavailable, e)
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, Error{Error: err.Error(), Field: "id"})
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, store.ErrNotLeader):
		writeErr(w, http.StatusServiceUnavailable, Error{Error: err.Error()})
	default:
		s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeErr(w, http.StatusInternalServerError, Error{Error: err.Error()})
	}
}

func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	// A standby redirects before it reads, let alone parses, the body:
	// what it would only forward cannot hurt it.
	if !s.b.IsLeader() {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		s.backendErr(w, r, &node.NotLeaderError{LeaderURL: s.b.LeaderURL(ctx)})
		return
	}
	body, err := io.ReadAll(r.Body)
	if tooLarge(err) {
		writeErr(w, http.StatusRequestEntityTooLarge, Error{Error: fmt.Sprintf("spec larger than %d bytes", s.cfg.MaxBody), Field: "body"})
		return
	}
	if err != nil {
		writeErr(w, http.StatusBadRequest, Error{Error: "read body: " + err.Error(), Field: "body"})
		return
	}
	sp, err := spec.Parse(body)
	if err != nil {
		e := Error{Error: err.Error()}
		if fe, ok := spec.AsFieldError(err); ok {
			e.Field = fe.Field
		}
		writeErr(w, http.StatusBadRequest, e)
		return
	}
	if dry, err := dryRun(r); err != nil {
		writeErr(w, http.StatusBadRequest, Error{Error: err.Error(), Field: "dryRun"})
		return
	} else if dry {
		s.plan(w, r, sp)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	j, err := s.b.Submit(ctx, sp)
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusCreated, map[string]string{"id": j.ID})
}

// dryRun reads a submit's ?dryRun=true|false.
func dryRun(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("dryRun")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("dryRun must be true or false, got %q", v)
	}
	return b, nil
}

func (s *server) status(ctx context.Context, id string) (job.Status, *job.Job, error) {
	j, err := s.b.Store().GetJob(ctx, id)
	if err != nil {
		return job.Status{}, nil, err
	}
	r, err := reduce(ctx, s.b.Store(), j)
	if err != nil {
		return job.Status{}, nil, err
	}
	return r.Status(), j, nil
}

// reduce reads j's attempts a page at a time into what its status needs:
// a watch or a list of a 200,000-instance job does not hold every record
// decoded at once (issue 16).
func reduce(ctx context.Context, st store.Store, j *job.Job) (*jobstatus.Reduction, error) {
	r := jobstatus.NewReduction(j)
	if err := store.ScanAttempts(ctx, st, j.ID, func(page []job.Attempt) error { r.Add(page); return nil }); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	lq, qerr := parseListQuery(r.URL.Query(), now)
	if qerr != nil {
		writeErr(w, http.StatusBadRequest, *qerr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	jobs, err := s.b.Store().ListJobs(ctx)
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	out := make([]JobSummary, 0, len(jobs))
	submitted := make(map[string]time.Time, len(jobs))
	for _, j := range jobs {
		if !lq.keepJob(j) {
			continue
		}
		red, err := reduce(ctx, s.b.Store(), j)
		if err != nil {
			s.backendErr(w, r, err)
			return
		}
		st := red.Status()
		if !lq.keepState(st.State) {
			continue
		}
		submitted[j.ID] = j.Submitted
		out = append(out, summarize(j, st, red.LastEnded(), red.Attempts(), now))
	}
	writeJSON(w, http.StatusOK, lq.sortAndLimit(out, submitted))
}

// spec answers GET /v1/jobs/{id}/spec: the spec the job was submitted
// with, as stored (defaults applied), for `gleaner job inspect` and
// `gleaner job resubmit`.
func (s *server) spec(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	j, err := s.b.Store().GetJob(ctx, r.PathValue("id"))
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j.Spec)
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, j, err := s.status(ctx, r.PathValue("id"))
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	v := s.explain(st)
	v.Labels = j.Spec.Labels
	writeJSON(w, http.StatusOK, v)
}

func (s *server) kill(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	j, err := s.b.Kill(ctx, r.PathValue("id"))
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": j.ID, "state": "killing"})
}

func (s *server) instance(w http.ResponseWriter, r *http.Request) {
	id, task := r.PathValue("id"), r.PathValue("task")
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 {
		writeErr(w, http.StatusBadRequest, Error{Error: fmt.Sprintf("index %q is not a non-negative integer", r.PathValue("index")), Field: "index"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	j, t, ok := s.lookupInstance(ctx, w, r, id, task, index)
	if !ok {
		return
	}
	as, err := s.b.Store().InstanceAttempts(ctx, id, task, index)
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	out := Instance{Job: id, Task: task, Index: index, State: job.InstanceState(as, t.Retries, j.KillRequested), Attempts: []AttemptView{}}
	if len(as) == 0 && j.Folded.Has(task, index) {
		out.State = job.Succeeded // succeeded at its first attempt; its record was folded away
	}
	for _, a := range as {
		v := AttemptView{TaskID: a.TaskID(), Attempt: a.Attempt, State: a.State, AgentID: a.AgentID, Hostname: a.Hostname,
			ExitCode: a.ExitCode, Reason: a.Reason, Message: a.Message, Created: a.Created, Signal: a.Signal, Verdict: a.Verdict, Outputs: a.Outputs,
			Artifacts: artifactViews(id, a.Artifacts, s.cfg.ArtifactStoreURL)}
		if !a.NotBefore.IsZero() {
			v.NotBefore = &a.NotBefore
		}
		if !a.Started.IsZero() {
			v.Started = &a.Started
		}
		if !a.Ended.IsZero() {
			v.Ended = &a.Ended
		}
		out.Attempts = append(out.Attempts, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// watchMinInterval is the least time between two status reads of a watch;
// a read that took long stretches it to watchReadCostFactor times the
// read, so a watch of a huge running job spends at most about one part in
// watchReadCostFactor+1 of its time reading (each read of a
// 200,000-instance job decodes 200,000 records).
const (
	watchMinInterval    = time.Second
	watchReadCostFactor = 10
)

// watchWait is how long a watch waits after a status read that took took.
func watchWait(took time.Duration) time.Duration {
	return max(watchMinInterval, watchReadCostFactor*took)
}

// watch streams the job's status as JSON lines (application/x-ndjson):
// one line now, one per change, and the stream ends after a final state.
func (s *server) watch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx := r.Context()
	var changed, derived <-chan struct{}
	if src := s.cfg.Statuses; src != nil {
		derived = src.StatusesChanged() // what src derives after this
	} else {
		changed = s.b.Store().Watch(ctx, id)
	}
	st, _, err := s.status(ctx, id)
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	var last []byte
	emit := func(st job.Status) bool {
		b, _ := json.Marshal(st)
		if string(b) == string(last) {
			return true
		}
		last = b
		if err := enc.Encode(st); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	if !emit(st) || st.State.Terminal() {
		return
	}
	if src := s.cfg.Statuses; src != nil {
		s.followStatuses(ctx, id, src, derived, emit)
		return
	}
	// A periodic refresh covers a watch that missed events (etcd restart).
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	next := time.Now().Add(watchMinInterval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
		// A running job changes all the time: read its attempts at most
		// every watchWait, not back to back.
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		read := time.Now()
		st, _, err := s.status(ctx, id)
		next = time.Now().Add(watchWait(time.Since(read)))
		if err != nil {
			continue
		}
		if !emit(st) || st.State.Terminal() {
			return
		}
	}
}

// followStatuses streams job id's status from src, from the first status
// src derives after derived is closed (not one older than the line the
// watch began with), until it is final, the job is gone or ctx ends. A job
// src does not know yet (submitted after its last read) is waited for;
// one it does not know for statusUnknownLimit is read from the store
// (deleted: the stream ends).
func (s *server) followStatuses(ctx context.Context, id string, src StatusSource, derived <-chan struct{}, emit func(job.Status) bool) {
	first := time.NewTimer(statusUnknownLimit) // a src that stopped deriving: go on
	select {
	case <-ctx.Done():
		first.Stop()
		return
	case <-derived:
	case <-first.C:
	}
	first.Stop()
	unknownSince := time.Time{}
	for {
		changed := src.StatusesChanged()
		st, ok := src.JobStatus(id)
		switch {
		case ok:
			unknownSince = time.Time{}
			if !emit(st) || st.State.Terminal() {
				return
			}
		case unknownSince.IsZero():
			unknownSince = time.Now()
		case time.Since(unknownSince) >= statusUnknownLimit:
			read, _, err := s.status(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return
			}
			if err == nil && (!emit(read) || read.State.Terminal()) {
				return
			}
			unknownSince = time.Now()
		}
		wait := time.NewTimer(statusUnknownLimit)
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-changed:
		case <-wait.C:
		}
		wait.Stop()
	}
}

// statusUnknownLimit is how long a watch waits for its job to appear in
// its StatusSource before it reads the job from the store.
var statusUnknownLimit = 5 * time.Second

// Health is the body of GET /healthz, the one route open without a token.
type Health struct {
	OK bool `json:"ok"`
	// Leader: this instance leads; LeaderURL: the API URL of the leader
	// (this one or another; "" while none is elected, and while this one,
	// elected, is still taking over).
	Leader     bool   `json:"leader"`
	LeaderURL  string `json:"leaderURL,omitempty"`
	Subscribed bool   `json:"subscribed"`
	// Auth is "on", or "off" under --insecure-no-auth.
	Auth string `json:"auth"`
	// Monitors: whether hosts need a live monitor heartbeat to get work
	// (--require-monitor), and which hosts get none because theirs is
	// silent. Still 200: the scheduler itself is healthy.
	Monitors *MonitorsHealth `json:"monitors,omitempty"`
}

// MonitorsHealth is Health.Monitors.
type MonitorsHealth struct {
	Required bool     `json:"required"`
	Silent   []string `json:"silent"`
}

// MonitorReporter is what a Backend may also do: say whether monitors are
// required and which hosts that requirement blocks (GET /healthz).
type MonitorReporter interface {
	RequireMonitor() bool
	SilentMonitors(now time.Time) []string
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h := Health{OK: true, Leader: s.b.IsLeader(), LeaderURL: s.b.LeaderURL(ctx), Subscribed: s.b.Subscribed(), Auth: "on"}
	if s.cfg.Auth.Insecure {
		h.Auth = "off"
	}
	if m, ok := s.b.(MonitorReporter); ok {
		h.Monitors = &MonitorsHealth{Required: m.RequireMonitor(), Silent: m.SilentMonitors(time.Now())}
	}
	writeJSON(w, http.StatusOK, h)
}

// lookupInstance reads job id and checks that it has the task and the
// instance index, answering 404 (or the store's error) when not.
func (s *server) lookupInstance(ctx context.Context, w http.ResponseWriter, r *http.Request, id, task string, index int) (*job.Job, *job.TaskSpec, bool) {
	j, err := s.b.Store().GetJob(ctx, id)
	if err != nil {
		s.backendErr(w, r, err)
		return nil, nil, false
	}
	t := j.Task(task)
	if t == nil {
		writeErr(w, http.StatusNotFound, Error{Error: fmt.Sprintf("job %s has no task %q", id, task), Field: "task"})
		return nil, nil, false
	}
	if index >= t.Instances {
		writeErr(w, http.StatusNotFound, Error{Error: fmt.Sprintf("task %s has %d instances; no index %d", task, t.Instances, index), Field: "index"})
		return nil, nil, false
	}
	return j, t, true
}
