package evict

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/retry"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Request is the monitor's record at <prefix>evictions/<hostname>
// (monitor/README.md).
type Request struct {
	ID          string    `json:"id"`
	Hostname    string    `json:"hostname"`
	CPUs        float64   `json:"cpus"`
	MemMB       float64   `json:"mem_mb"`
	Reason      string    `json:"reason"`
	RequestedAt time.Time `json:"requested_at"`
}

// ParseRequest reads and checks a request stored at key.
func ParseRequest(key string, b []byte) (Request, error) {
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("eviction request %s: %w", key, err)
	}
	switch {
	case r.ID == "":
		return r, fmt.Errorf("eviction request %s: id: must not be empty", key)
	case r.CPUs < 0:
		return r, fmt.Errorf("eviction request %s: cpus: must be >= 0, got %v", key, r.CPUs)
	case r.MemMB < 0:
		return r, fmt.Errorf("eviction request %s: mem_mb: must be >= 0, got %v", key, r.MemMB)
	}
	if host := key[strings.LastIndex(key, "/")+1:]; r.Hostname == "" {
		r.Hostname = host
	} else if r.Hostname != host {
		return r, fmt.Errorf("eviction request %s: hostname: %q does not match the key", key, r.Hostname)
	}
	return r, nil
}

// Acted is the leader's record of a request it carried out, at
// <prefix>evictions-acted/<hostname>/<id>, written before any victim is
// killed: a new leader finds the victims there (and marks them again)
// instead of choosing new ones, so a request is never acted on twice. It
// is deleted once none of its victims is active.
type Acted struct {
	ID       string            `json:"id"`
	Hostname string            `json:"hostname"`
	Reason   string            `json:"reason"`
	Victims  map[string]string `json:"victims"` // task id → agent id
	ActedAt  time.Time         `json:"acted_at"`
}

// Instance is an active attempt as eviction sees it.
type Instance struct {
	Candidate
	AgentID  string
	Hostname string
	// Requeuing: already being killed (evicted, moved or preempted); what
	// it holds counts as freed.
	Requeuing bool
}

// Target is the leader's scheduling state.
type Target interface {
	// Instances lists the active attempts.
	Instances() []Instance
	// Active reports whether an attempt is still active (launching or
	// running): what tidy asks of each recorded victim, every Poll,
	// without listing every active attempt.
	Active(taskID string) bool
	// Requeue marks active attempts to end lost with reason (detail
	// leading the message) and be requeued without using a retry; it
	// returns those found (task id → agent id).
	Requeue(taskIDs []string, reason, detail string) map[string]string
}

// Config configures a Watcher.
type Config struct {
	Client *clientv3.Client
	Prefix string // default /gleaner/
	// Fence is the leadership comparison every write carries.
	Fence  []clientv3.Cmp
	Target Target
	// Kill sends KILL for task id → agent id.
	Kill func(ctx context.Context, tasks map[string]string)
	// Poll re-reads requests, re-sends KILLs for victims still running and
	// drops finished records (default 5 s).
	Poll time.Duration
	// Cooldown: after an eviction on a host, Holding reports it for this
	// long, so no new work lands where the monitor is reclaiming before it
	// has shrunk the reservation (default 15 s, beyond the monitor's
	// default reconcile interval of 10 s).
	Cooldown time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Watcher carries out eviction requests while its leadership term lasts.
type Watcher struct {
	cfg     Config
	mu      sync.Mutex
	acted   map[string]Acted     // key → record
	evicted map[string]time.Time // hostname → last request handled
}

// New returns a watcher.
func New(cfg Config) *Watcher {
	if cfg.Prefix == "" {
		cfg.Prefix = "/gleaner/"
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Watcher{cfg: cfg, acted: map[string]Acted{}, evicted: map[string]time.Time{}}
}

func (w *Watcher) requestPrefix() string { return w.cfg.Prefix + "evictions/" }
func (w *Watcher) actedPrefix() string   { return w.cfg.Prefix + "evictions-acted/" }
func (w *Watcher) actedKey(host, id string) string {
	return w.actedPrefix() + host + "/" + id
}

// Restore loads the acted records and marks their victims that are still
// active, so a kill the previous leader sent ends as reclaimed here too.
// Call it after the engine is loaded and before subscribing to Mesos.
func (w *Watcher) Restore(ctx context.Context) error {
	resp, err := w.cfg.Client.Get(ctx, w.actedPrefix(), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("read eviction records: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	found := 0
	for _, kv := range resp.Kvs {
		var a Acted
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			w.cfg.Logger.Error("bad eviction record", "key", string(kv.Key), "err", err)
			continue
		}
		w.acted[string(kv.Key)] = a
		w.evicted[a.Hostname] = w.cfg.Now()
		found += len(w.cfg.Target.Requeue(victimIDs(a), retry.ReasonReclaimed, detail(a)))
	}
	if len(resp.Kvs) > 0 {
		w.cfg.Logger.Info("eviction victims restored", "records", len(resp.Kvs), "active", found)
	}
	return nil
}

// Holding reports whether host had an eviction request within the
// cooldown: it should get no new work yet (framework.Config.HoldHost).
func (w *Watcher) Holding(host string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.evicted[host]
	return ok && w.cfg.Now().Sub(at) < w.cfg.Cooldown
}

// Run handles requests until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	tk := time.NewTicker(w.cfg.Poll)
	defer tk.Stop()
	var wch clientv3.WatchChan
	for {
		if wch == nil {
			wch = w.cfg.Client.Watch(clientv3.WithRequireLeader(ctx), w.requestPrefix(), clientv3.WithPrefix())
		}
		if err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("eviction requests", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-wch:
			if !ok {
				wch = nil
			}
		case <-tk.C:
			w.tidy(ctx)
		}
	}
}

// Pass reads every pending request and carries it out.
func (w *Watcher) Pass(ctx context.Context) error {
	resp, err := w.cfg.Client.Get(ctx, w.requestPrefix(), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("read eviction requests: %w", err)
	}
	var errs []error
	for _, kv := range resp.Kvs {
		if err := w.handle(ctx, string(kv.Key), kv.Value, kv.ModRevision); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// handle carries out one request: record the victims (or find them
// recorded), mark them, kill them, delete the request.
func (w *Watcher) handle(ctx context.Context, key string, val []byte, rev int64) error {
	log := w.cfg.Logger
	req, err := ParseRequest(key, val)
	if err != nil {
		// A broken request would block the monitor forever: drop it.
		log.Error("dropping eviction request", "err", err)
		return w.deleteRequest(ctx, key, rev)
	}
	akey := w.actedKey(req.Hostname, req.ID)
	w.mu.Lock()
	rec, done := w.acted[akey]
	w.mu.Unlock()
	if !done {
		rec, done, err = w.loadActed(ctx, akey)
		if err != nil {
			return err
		}
	}
	if !done {
		rec = w.decide(req)
		b, _ := json.Marshal(rec)
		ok, err := w.txn(ctx, nil, clientv3.OpPut(akey, string(b)))
		if err != nil {
			return fmt.Errorf("record eviction %s: %w", req.ID, err)
		}
		if !ok {
			return fmt.Errorf("record eviction %s: not the leader", req.ID)
		}
		victimsTotal.Add(float64(len(rec.Victims)))
		log.Info("evicting", "host", req.Hostname, "request", req.ID, "reason", req.Reason,
			"cpus", req.CPUs, "mem_mb", req.MemMB, "victims", len(rec.Victims))
	}
	w.mu.Lock()
	w.acted[akey] = rec
	w.evicted[req.Hostname] = w.cfg.Now()
	w.mu.Unlock()
	w.killVictims(ctx, rec)
	if err := w.deleteRequest(ctx, key, rev); err != nil {
		return err
	}
	if !done {
		evictionsTotal.Inc()
	}
	return nil
}

// decide chooses the victims of req among the host's active attempts;
// those already being killed count as freed.
func (w *Watcher) decide(req Request) Acted {
	need := Need{CPUs: req.CPUs, MemMB: req.MemMB}
	var cands []Candidate
	agents := map[string]string{}
	for _, in := range w.cfg.Target.Instances() {
		if in.Hostname != req.Hostname {
			continue
		}
		if in.Requeuing {
			need.CPUs -= in.CPUs
			need.MemMB -= in.MemMB
			continue
		}
		cands = append(cands, in.Candidate)
		agents[in.TaskID] = in.AgentID
	}
	rec := Acted{ID: req.ID, Hostname: req.Hostname, Reason: req.Reason, Victims: map[string]string{}, ActedAt: w.cfg.Now().UTC()}
	for _, c := range Choose(cands, need, w.cfg.Now()) {
		rec.Victims[c.TaskID] = agents[c.TaskID]
	}
	return rec
}

// killVictims marks the record's victims still active and kills them.
func (w *Watcher) killVictims(ctx context.Context, rec Acted) {
	if len(rec.Victims) == 0 {
		return
	}
	found := w.cfg.Target.Requeue(victimIDs(rec), retry.ReasonReclaimed, detail(rec))
	if len(found) > 0 && w.cfg.Kill != nil {
		w.cfg.Kill(ctx, found)
	}
}

// tidy re-sends KILLs for victims still active (a KILL may be lost while
// disconnected) and deletes records none of whose victims is active.
func (w *Watcher) tidy(ctx context.Context) {
	w.mu.Lock()
	recs := make(map[string]Acted, len(w.acted))
	for k, a := range w.acted {
		recs[k] = a
	}
	w.mu.Unlock()
	for k, a := range recs {
		left := false
		for id := range a.Victims {
			if w.cfg.Target.Active(id) {
				left = true
				break
			}
		}
		if left {
			w.killVictims(ctx, a)
			continue
		}
		if ok, err := w.txn(ctx, nil, clientv3.OpDelete(k)); err != nil || !ok {
			continue
		}
		w.mu.Lock()
		delete(w.acted, k)
		w.mu.Unlock()
	}
}

func (w *Watcher) loadActed(ctx context.Context, key string) (Acted, bool, error) {
	resp, err := w.cfg.Client.Get(ctx, key)
	if err != nil {
		return Acted{}, false, fmt.Errorf("read eviction record %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return Acted{}, false, nil
	}
	var a Acted
	if err := json.Unmarshal(resp.Kvs[0].Value, &a); err != nil {
		return Acted{}, false, fmt.Errorf("eviction record %s: %w", key, err)
	}
	return a, true, nil
}

// deleteRequest removes the request if it is still the one read (the
// monitor may have written a new one since).
func (w *Watcher) deleteRequest(ctx context.Context, key string, rev int64) error {
	_, err := w.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}, clientv3.OpDelete(key))
	if err != nil {
		return fmt.Errorf("delete eviction request %s: %w", key, err)
	}
	return nil
}

func (w *Watcher) txn(ctx context.Context, extra []clientv3.Cmp, op clientv3.Op) (bool, error) {
	cmps := append(append([]clientv3.Cmp(nil), w.cfg.Fence...), extra...)
	resp, err := w.cfg.Client.Txn(ctx).If(cmps...).Then(op).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// EngineTarget adapts the leader's engine.
func EngineTarget(e *engine.Engine) Target { return engineTarget{e} }

type engineTarget struct{ e *engine.Engine }

// Instances leaves out attempts whose ACCEPT is still in flight: a KILL
// could overtake the launch (the master would answer "unknown", the
// instance be requeued, and the launch then run it a second time).
func (t engineTarget) Instances() []Instance {
	sent := t.e.Reconcilable()
	all := t.e.ActiveInstances()
	out := make([]Instance, 0, len(all))
	for _, in := range all {
		if _, ok := sent[in.TaskID]; !ok {
			continue
		}
		out = append(out, Instance{Candidate: Candidate{TaskID: in.TaskID, Priority: in.Priority, Started: in.Started,
			CPUs: in.Resources.CPUs, MemMB: in.Resources.Mem}, AgentID: in.AgentID, Hostname: in.Hostname, Requeuing: in.Requeuing})
	}
	return out
}

func (t engineTarget) Active(taskID string) bool { return t.e.IsActive(taskID) }

func (t engineTarget) Requeue(taskIDs []string, reason, detail string) map[string]string {
	return t.e.RequeueWith(taskIDs, reason, detail)
}

func victimIDs(a Acted) []string {
	ids := make([]string, 0, len(a.Victims))
	for id := range a.Victims {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// detail leads a victim's ended message: "reclaimed: <request reason>".
func detail(a Acted) string {
	if a.Reason == "" {
		return "reclaimed (eviction " + a.ID + ")"
	}
	return "reclaimed: " + a.Reason
}
