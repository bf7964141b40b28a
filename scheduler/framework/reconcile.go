package framework

import (
	"context"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// Defaults of the explicit reconciliation backoff.
const (
	DefaultReconcileMinBackoff = 2 * time.Second
	DefaultReconcileMaxBackoff = 2 * time.Minute
)

// awaited is the framework's memory of calls whose answer has not come
// yet: KILLs until the task's terminal update, and the tasks an explicit
// reconciliation still waits to hear about.
type awaited struct {
	mu    sync.Mutex
	ctx   context.Context   // the term (Run's ctx)
	kills map[string]string // task id → agent id, KILL wanted
	// Explicit reconciliation: one loop at a time; pending are the tasks
	// with no update since the loop began.
	reconciling bool
	pending     map[string]string
	kick        chan struct{} // a new subscription while a loop runs
	// partitioned: tasks last reported TASK_UNREACHABLE (task id → agent
	// id). Their attempts ended lost and were requeued; if the agent comes
	// back the task shows up running again and must be killed, so the
	// instance never finishes twice.
	partitioned map[string]string
	askedAt     map[string]time.Time // partitioned task → last asked about
}

// wantKilled remembers tasks to kill until their terminal update.
func (h *awaited) wantKilled(tasks map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kills == nil {
		h.kills = map[string]string{}
	}
	for id, agent := range tasks {
		h.kills[id] = agent
	}
}

// killsWanted returns the KILLs still unanswered.
func (h *awaited) killsWanted() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]string, len(h.kills))
	for id, agent := range h.kills {
		out[id] = agent
	}
	return out
}

// saw records status updates: a task heard from leaves the reconciliation,
// a task that ended needs no KILL any more.
func (h *awaited) saw(sts []engine.Status) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range sts {
		delete(h.pending, s.TaskID)
		if s.State == mesos.TASK_UNREACHABLE {
			if h.partitioned == nil {
				h.partitioned, h.askedAt = map[string]string{}, map[string]time.Time{}
			}
			h.partitioned[s.TaskID] = s.AgentID
			continue
		}
		// Any other news ends the partition: running again (the engine
		// no longer expects it and asks to kill it) or ended.
		delete(h.partitioned, s.TaskID)
		delete(h.askedAt, s.TaskID)
		if engine.AttemptStateOf(s.State).Terminal() {
			delete(h.kills, s.TaskID)
		}
	}
}

// partitionedOn returns the partitioned tasks on the given agents not
// asked about within every, and notes them asked now.
func (h *awaited) partitionedOn(agents map[string]bool, now time.Time, every time.Duration) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out map[string]string
	for id, agent := range h.partitioned {
		if agents != nil && !agents[agent] || now.Sub(h.askedAt[id]) < every {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[id] = agent
		h.askedAt[id] = now
	}
	return out
}

// partitionAskEvery bounds how often one partitioned task is asked about.
const partitionAskEvery = time.Second

// reconcilePartitioned asks the master about partitioned tasks whose agent
// (nil: any agent) is offering again: an agent that comes back re-registers
// with its tasks, and the answer RUNNING gets the task killed.
func (f *Framework) reconcilePartitioned(ctx context.Context, agents map[string]bool) {
	tasks := f.awaited.partitionedOn(agents, time.Now(), partitionAskEvery)
	if len(tasks) == 0 {
		return
	}
	go func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.RequestTimeout)
		defer cancel()
		if err := calls.CallNoData(rctx, f.caller, calls.Reconcile(calls.ReconcileTasks(tasks))); err != nil {
			f.log.Warn("reconcile partitioned tasks", "tasks", len(tasks), "err", err)
			return
		}
		f.log.Debug("reconcile partitioned tasks", "tasks", len(tasks))
	}()
}

// nextBackoff doubles d within [min, max] (truncated exponential backoff).
func nextBackoff(d, min, max time.Duration) time.Duration {
	switch {
	case d < min:
		return min
	case d > max/2:
		return max
	}
	return 2 * d
}

// resendKills sends again every KILL not yet answered by a terminal update
// (one sent while disconnected failed, or was lost with the connection).
func (f *Framework) resendKills(ctx context.Context) {
	ks := f.awaited.killsWanted()
	if len(ks) == 0 {
		return
	}
	f.log.Info("re-sending kills after subscribing", "tasks", len(ks))
	f.sendKills(ctx, ks)
}

func (f *Framework) sendKills(ctx context.Context, tasks map[string]string) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
	defer cancel()
	for id, agent := range tasks {
		if err := f.act.kill(ctx, id, agent); err != nil {
			f.log.Warn("kill task", "task", id, "err", err)
		}
	}
}

// startReconcile begins explicit reconciliation of the active attempts
// unless a loop runs already; it reports whether one was started. The loop
// sends RECONCILE for the attempts not heard from since it began, waiting
// a truncated exponential backoff between rounds, until every one has
// answered (or left), the subscription ends, or the term ends.
func (f *Framework) startReconcile() bool {
	h := &f.awaited
	h.mu.Lock()
	if h.kick == nil {
		h.kick = make(chan struct{}, 1)
	}
	if h.reconciling {
		// Wake the running loop: it takes in every active attempt and
		// starts its backoff again (a new subscription).
		select {
		case h.kick <- struct{}{}:
		default:
		}
		h.mu.Unlock()
		return false
	}
	if h.ctx == nil {
		h.mu.Unlock()
		return false
	}
	act := f.engine.Reconcilable()
	if len(act) == 0 {
		h.mu.Unlock()
		return false
	}
	h.reconciling, h.pending = true, act
	ctx := h.ctx
	select { // a stale kick must not cut the first wait short
	case <-h.kick:
	default:
	}
	h.mu.Unlock()
	go f.reconcileRounds(ctx)
	return true
}

// Reconciling reports whether an explicit reconciliation loop runs.
func (f *Framework) Reconciling() bool {
	f.awaited.mu.Lock()
	defer f.awaited.mu.Unlock()
	return f.awaited.reconciling
}

func (f *Framework) reconcileRounds(ctx context.Context) {
	h := &f.awaited
	defer func() {
		h.mu.Lock()
		h.reconciling, h.pending = false, nil
		h.mu.Unlock()
	}()
	minB, maxB := f.cfg.ReconcileMinBackoff, f.cfg.ReconcileMaxBackoff
	delay := minB
	for round := 1; ; round++ {
		active := f.engine.Reconcilable()
		h.mu.Lock()
		for id := range h.pending {
			if _, ok := active[id]; !ok {
				delete(h.pending, id) // ended meanwhile
			}
		}
		tasks := make(map[string]string, len(h.pending))
		for id, agent := range h.pending {
			tasks[id] = agent
		}
		h.mu.Unlock()
		if len(tasks) == 0 || !f.Connected() || ctx.Err() != nil {
			return // done; or a new subscription starts a new loop
		}
		rctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
		err := calls.CallNoData(rctx, f.caller, calls.Reconcile(calls.ReconcileTasks(tasks)))
		cancel()
		if err != nil {
			f.log.Warn("explicit reconciliation", "round", round, "tasks", len(tasks), "err", err)
		} else {
			f.log.Debug("explicit reconciliation", "round", round, "tasks", len(tasks))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.kick:
			t.Stop()
			h.mu.Lock()
			for id, agent := range f.engine.Reconcilable() {
				h.pending[id] = agent
			}
			h.mu.Unlock()
			delay = minB
			continue
		case <-t.C:
		}
		delay = nextBackoff(delay, minB, maxB)
	}
}

// setContext records the term's context (Run).
func (h *awaited) setContext(ctx context.Context) {
	h.mu.Lock()
	h.ctx = ctx
	h.mu.Unlock()
}

func (h *awaited) context() context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return context.Background()
	}
	return h.ctx
}

func offerAgents(offers []mesos.Offer) map[string]bool {
	out := make(map[string]bool, len(offers))
	for i := range offers {
		out[offers[i].AgentID.Value] = true
	}
	return out
}
