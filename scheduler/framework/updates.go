package framework

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// MaxUpdateBatch bounds how many status updates one store write carries.
const MaxUpdateBatch = 2000

// updateQueue hands status updates from the event loop to the update loop,
// so the event loop never waits on etcd and updates are stored in batches.
type updateQueue struct {
	mu     sync.Mutex
	items  []mesos.TaskStatus
	signal chan struct{}
}

func newUpdateQueue() *updateQueue { return &updateQueue{signal: make(chan struct{}, 1)} }

func (q *updateQueue) push(s mesos.TaskStatus) {
	q.mu.Lock()
	q.items = append(q.items, s)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *updateQueue) take(max int) []mesos.TaskStatus {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.items))
	out := q.items[:n:n]
	q.items = q.items[n:]
	if len(q.items) > 0 {
		select {
		case q.signal <- struct{}{}:
		default:
		}
	}
	return out
}

// updateLoop is the one place status updates are acknowledged: each batch
// is stored in etcd first, then committed to the engine, then acked. A
// batch that cannot be stored is not acknowledged: agents resend it.
func (f *Framework) updateLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.updates.signal:
		}
		if batch := f.updates.take(MaxUpdateBatch); len(batch) > 0 {
			f.processUpdates(ctx, batch)
		}
	}
}

func toStatus(s *mesos.TaskStatus) engine.Status {
	st := engine.Status{TaskID: s.TaskID.Value, State: s.GetState(), AgentID: s.GetAgentID().GetValue(), Message: s.GetMessage()}
	if s.Reason != nil {
		st.Reason = s.GetReason().String()
	}
	if ts := s.GetTimestamp(); ts > 0 {
		st.Time = time.Unix(0, int64(ts*1e9)).UTC()
	}
	if engine.AttemptStateOf(s.GetState()).Terminal() {
		st.ExitCode = exitCode(s)
		st.Signal = signalOf(s)
	}
	return st
}

func (f *Framework) processUpdates(ctx context.Context, batch []mesos.TaskStatus) {
	sts := make([]engine.Status, len(batch))
	for i := range batch {
		sts[i] = toStatus(&batch[i])
		updatesTotal.WithLabelValues(batch[i].GetState().String()).Inc()
	}
	f.hard.saw(sts)
	outs := f.engine.ObserveAll(sts)
	if f.log.Enabled(ctx, slog.LevelDebug) {
		for i := range batch {
			f.log.Debug("status update", "task", sts[i].TaskID, "state", sts[i].State.String(), "source", batch[i].GetSource().String(),
				"reason", sts[i].Reason, "uuid", len(batch[i].UUID) > 0, "stored", outs[i].Attempt != nil, "kill", outs[i].Kill)
		}
	}
	// The last record per task is what gets stored and committed.
	last := map[string]int{}
	var order []string
	for i, o := range outs {
		if o.Attempt == nil {
			continue
		}
		if _, ok := last[sts[i].TaskID]; !ok {
			order = append(order, sts[i].TaskID)
		}
		last[sts[i].TaskID] = i
	}
	if len(order) > 0 {
		as := make([]job.Attempt, len(order))
		for k, id := range order {
			as[k] = *outs[last[id]].Attempt
		}
		if err := f.store.PutAttempts(ctx, as); err != nil {
			f.log.Warn("status updates not stored; not acknowledging", "updates", len(batch), "err", err)
			return
		}
		more := false
		for _, a := range as {
			queued := a.State.Terminal() && f.queueTask(a)
			if f.engine.Commit(a) {
				more = true
			}
			if queued {
				f.releaseQueue(ctx, a)
			}
		}
		if more {
			f.Revive()
		}
	}
	kills := map[string]string{}
	for i, o := range outs {
		if o.Kill {
			kills[sts[i].TaskID] = sts[i].AgentID
		}
	}
	if len(kills) > 0 {
		go func() {
			kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.RequestTimeout)
			defer cancel()
			f.Kill(kctx, kills)
		}()
	}
	for i := range batch {
		s := &batch[i]
		if len(s.UUID) == 0 {
			continue // master-made updates (reconciliation, invalid offers) are never acked
		}
		ack := calls.Acknowledge(s.GetAgentID().GetValue(), s.TaskID.Value, s.UUID)
		if err := calls.CallNoData(ctx, f.caller, ack); err != nil {
			f.log.Debug("acknowledge", "task", s.TaskID.Value, "err", err)
		}
	}
}
