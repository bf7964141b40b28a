package attrs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/apikeys"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// AgentInfo is what the scheduler knows of an agent from Mesos (its last
// offer or agent info).
type AgentInfo struct {
	Hostname   string            `json:"hostname"`
	AgentID    string            `json:"agentId,omitempty"`
	MesosAttrs map[string]string `json:"mesosAttributes"`
	// Resources is the agent's size; Reserved and Unreserved what its last
	// offer held for the role and unreserved.
	Resources  placement.Resources `json:"resources"`
	Reserved   placement.Resources `json:"reserved"`
	Unreserved placement.Resources `json:"unreserved"`
	LastOffer  time.Time           `json:"lastOffer,omitzero"`
}

// AgentSource is implemented by the scheduler: the agents it knows.
type AgentSource interface {
	Agents() []AgentInfo
}

// AgentView is one row of GET /v1/agents. Its keys are camelCase, as
// everywhere in the API; Monitor is the monitor's heartbeat with its keys
// turned to camelCase too (the record in etcd keeps the monitor's
// snake_case: other processes read it). ?keys=snake answers with the keys
// of the release before (deprecated, for one release).
type AgentView struct {
	AgentInfo
	EtcdAttrs     map[string]string `json:"etcdAttributes"`
	Attributes    map[string]string `json:"attributes"` // merged, etcd wins
	Monitor       json.RawMessage   `json:"monitor"`
	MonitorSilent bool              `json:"monitorSilent"`
}

// attributeMaps are the keys whose values are maps of attribute names
// (data, whatever their style): key rewrites leave what is below them.
var attributeMaps = map[string]bool{"mesosAttributes": true, "mesos_attributes": true, "etcdAttributes": true, "etcd_attributes": true, "attributes": true}

// UnmarshalJSON reads an agent in either key style, so a client of this
// release reads a scheduler of the release before (snake_case) too.
func (v *AgentView) UnmarshalJSON(b []byte) error {
	camel, err := apikeys.Rewrite(b, apikeys.Camel, attributeMaps)
	if err != nil {
		return err
	}
	type plain AgentView
	var p plain
	if err := json.Unmarshal(camel, &p); err != nil {
		return err
	}
	*v = AgentView(p)
	return nil
}

// apiMonitor is the stored heartbeat (snake_case) as the API shows it.
func apiMonitor(stored json.RawMessage) json.RawMessage {
	if stored == nil {
		return json.RawMessage("null")
	}
	camel, err := apikeys.Rewrite(stored, apikeys.Camel, nil)
	if err != nil {
		return json.RawMessage("null") // not JSON: shown as silent's null
	}
	return camel
}

// HandlerConfig configures NewHandler.
type HandlerConfig struct {
	Store *Store
	// Source may be nil (then only etcd's view is shown).
	Source AgentSource
	Log    *slog.Logger
	// Timeout bounds each etcd call; default 5s.
	Timeout time.Duration
}

type handler struct {
	cfg HandlerConfig
	mux *http.ServeMux
}

// NewHandler serves:
//
//	GET    /v1/agents[?keys=snake]
//	GET    /v1/agents/{hostname}[?keys=snake]
//	GET    /v1/agents/{hostname}/attributes
//	PUT    /v1/agents/{hostname}/attributes          (JSON object string → string)
//	PATCH  /v1/agents/{hostname}/attributes          (merge patch: null removes)
//	DELETE /v1/agents/{hostname}/attributes/{key...}
//	GET    /v1/agents/{hostname}/attributes/history
//
// Errors are JSON {error, field}. Serve it behind auth.Require (the API
// does): a write records the token's name in the history and is refused
// without an authenticated identity. PUT and PATCH refuse a hostname no
// agent, offer or monitor heartbeat made known, unless the query says
// allow-unknown=true.
func NewHandler(cfg HandlerConfig) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	h := &handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/agents", h.list)
	h.mux.HandleFunc("GET /v1/agents/{hostname}", h.getAgent)
	h.mux.HandleFunc("GET /v1/agents/{hostname}/attributes", h.getAttrs)
	h.mux.HandleFunc("PUT /v1/agents/{hostname}/attributes", h.write(h.put))
	h.mux.HandleFunc("PATCH /v1/agents/{hostname}/attributes", h.write(h.patch))
	h.mux.HandleFunc("DELETE /v1/agents/{hostname}/attributes/{key...}", h.write(h.del))
	h.mux.HandleFunc("GET /v1/agents/{hostname}/attributes/history", h.history)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func mbLimit(mb *http.MaxBytesError) int64 {
	if mb == nil {
		return maxBody
	}
	return mb.Limit
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fielderr.FieldError
	switch {
	case errors.Is(err, errTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: err.Error(), Field: "body"})
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error(), Field: fe.Field})
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: err.Error(), Field: "key"})
	default:
		h.cfg.Log.Error("agents api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: err.Error()})
	}
}

func (h *handler) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.cfg.Timeout)
}

// who is the name of the token that made the request; ok is false when
// no guard authenticated it (refused here: fail closed).
func (h *handler) who(w http.ResponseWriter, r *http.Request) (string, bool) {
	if id, ok := auth.FromContext(r.Context()); ok {
		return id.Name, true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="gleaner"`)
	writeJSON(w, http.StatusUnauthorized, apiError{Error: "a valid bearer token is required to change attributes", Field: "Authorization"})
	return "", false
}

// ErrUnknownHost is returned for a write to a host nothing has seen.
var ErrUnknownHost = errors.New("unknown host")

// known reports whether an agent with this hostname was seen: by the
// scheduler (offers, the master's agents) or through a monitor heartbeat.
func (h *handler) known(ctx context.Context, host string) (bool, error) {
	if h.cfg.Source != nil {
		for _, a := range h.cfg.Source.Agents() {
			if a.Hostname == host {
				return true, nil
			}
		}
	}
	mons, err := h.cfg.Store.Monitors(ctx)
	if err != nil {
		return false, err
	}
	_, ok := mons[host]
	return ok, nil
}

type writeFunc func(ctx context.Context, r *http.Request, host, who string) (Change, error)

func (h *handler) write(f writeFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, ok := h.who(w, r)
		if !ok {
			return
		}
		host := r.PathValue("hostname")
		if err := ValidateHostname(host); err != nil {
			h.fail(w, r, err)
			return
		}
		ctx, cancel := h.ctx(r)
		defer cancel()
		if r.Method != http.MethodDelete && r.URL.Query().Get("allow-unknown") != "true" {
			ok, err := h.known(ctx, host)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			if !ok {
				writeJSON(w, http.StatusNotFound, apiError{Error: fmt.Sprintf("%v %q: no agent, offer or monitor heartbeat has this hostname (a typo?); add allow-unknown=true (gleaner agent attrs set --allow-unknown) to set attributes ahead of the agent", ErrUnknownHost, host), Field: "hostname"})
				return
			}
		}
		ch, err := f(ctx, r, host, who)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.cfg.Log.Info("agent attributes changed", "host", host, "who", who, "op", ch.Op, "changes", len(ch.Diffs))
		writeJSON(w, http.StatusOK, ch)
	}
}

const maxBody = 64 << 10

// errTooLarge is a body over maxBody (or over the limit the API set).
var errTooLarge = errors.New("request body too large")

func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	var mb *http.MaxBytesError
	if errors.As(err, &mb) || len(b) > maxBody {
		return fmt.Errorf("%w: attributes take at most %d bytes", errTooLarge, min(maxBody, mbLimit(mb)))
	}
	if err != nil {
		return &fielderr.FieldError{Field: "body", Msg: "read: " + err.Error()}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &fielderr.FieldError{Field: "body", Msg: "must be a JSON object of string keys to string values: " + err.Error()}
	}
	return nil
}

func (h *handler) put(ctx context.Context, r *http.Request, host, who string) (Change, error) {
	var m map[string]string
	if err := decodeBody(r, &m); err != nil {
		return Change{}, err
	}
	if m == nil {
		return Change{}, &fielderr.FieldError{Field: "body", Msg: "must be a JSON object, not null"}
	}
	return h.cfg.Store.Put(ctx, host, m, who)
}

func (h *handler) patch(ctx context.Context, r *http.Request, host, who string) (Change, error) {
	var m map[string]*string
	if err := decodeBody(r, &m); err != nil {
		return Change{}, err
	}
	if m == nil {
		return Change{}, &fielderr.FieldError{Field: "body", Msg: "must be a JSON object, not null"}
	}
	return h.cfg.Store.Patch(ctx, host, m, who)
}

func (h *handler) del(ctx context.Context, r *http.Request, host, who string) (Change, error) {
	key := r.PathValue("key")
	if err := ValidateKey(key); err != nil {
		return Change{}, &fielderr.FieldError{Field: "key", Msg: err.(*fielderr.FieldError).Msg}
	}
	return h.cfg.Store.Delete(ctx, host, key, who)
}

func (h *handler) getAttrs(w http.ResponseWriter, r *http.Request) {
	host := r.PathValue("hostname")
	ctx, cancel := h.ctx(r)
	defer cancel()
	m, rev, err := h.cfg.Store.Get(ctx, host)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"hostname": host, "attributes": m, "revision": rev})
}

func (h *handler) history(w http.ResponseWriter, r *http.Request) {
	host := r.PathValue("hostname")
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			h.fail(w, r, &fielderr.FieldError{Field: "limit", Msg: fmt.Sprintf("must be a positive integer, got %q", s)})
			return
		}
		limit = n
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	hist, err := h.cfg.Store.History(ctx, host, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"hostname": host, "changes": hist})
}

// views joins the scheduler's agents with etcd attributes and monitors.
func (h *handler) views(ctx context.Context) ([]AgentView, error) {
	all, _, err := h.cfg.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	mons, err := h.cfg.Store.Monitors(ctx)
	if err != nil {
		return nil, err
	}
	byHost := map[string]*AgentView{}
	if h.cfg.Source != nil {
		for _, a := range h.cfg.Source.Agents() {
			byHost[a.Hostname] = &AgentView{AgentInfo: a}
		}
	}
	for host := range all {
		if _, ok := byHost[host]; !ok {
			byHost[host] = &AgentView{AgentInfo: AgentInfo{Hostname: host}}
		}
	}
	out := make([]AgentView, 0, len(byHost))
	for host, v := range byHost {
		v.EtcdAttrs = all[host]
		if v.EtcdAttrs == nil {
			v.EtcdAttrs = map[string]string{}
		}
		if v.MesosAttrs == nil {
			v.MesosAttrs = map[string]string{}
		}
		v.Attributes = placement.MergeAttrs(v.MesosAttrs, v.EtcdAttrs)
		v.MonitorSilent = mons[host] == nil
		v.Monitor = apiMonitor(mons[host])
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	return out, nil
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	if !keysOK(w, r) {
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	vs, err := h.views(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeAgents(w, r, map[string]any{"agents": vs})
}

// writeAgents answers 200 with v, in the key style the request asked for.
func writeAgents(w http.ResponseWriter, r *http.Request, v any) {
	style, _ := apikeys.RequestStyle(r) // checked before
	body, err := apikeys.Render(style, v, attributeMaps)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{Error: err.Error()})
		return
	}
	if style != apikeys.CamelCase {
		w.Header().Set("Warning", apikeys.Deprecation)
	}
	writeJSON(w, http.StatusOK, body)
}

// keysOK refuses a ?keys= that is neither camel nor snake (400 naming it).
func keysOK(w http.ResponseWriter, r *http.Request) bool {
	if _, err := apikeys.RequestStyle(r); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error(), Field: "keys"})
		return false
	}
	return true
}

func (h *handler) getAgent(w http.ResponseWriter, r *http.Request) {
	host := r.PathValue("hostname")
	if err := ValidateHostname(host); err != nil {
		h.fail(w, r, err)
		return
	}
	if !keysOK(w, r) {
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	vs, err := h.views(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, v := range vs {
		if v.Hostname == host {
			writeAgents(w, r, v)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, apiError{Error: "agent " + host + " is not known", Field: "hostname"})
}
