package framework

import (
	"context"
	"hash/maphash"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// MaxUpdateBatch bounds how many status updates one store write carries.
const MaxUpdateBatch = 2000

// updateQueue hands status updates from the event loop to the update loop,
// so the event loop never waits on etcd and updates are stored in batches.
// Updates are numbered in the order received (from 1): the number tells
// whether a copy of an update came before or after an acknowledgement of
// it was sent (see ackLedger).
//
// An agent resends an update until it is acknowledged; a copy of an update
// still queued (same task id and uuid) is dropped and not numbered, so a
// backlog holds each update once (issue 16: 200,000 instances queued 1.1
// million TaskStatus copies, 590 MB, while acknowledgements lagged).
//
// A queued update is kept as the update loop uses it (queuedUpdate), not as
// the TaskStatus it came in, whose copy keeps its decoded sub-messages and
// enum pointers alive: about 100 bytes more per update, and tens of
// thousands wait at the peak of a 200,000-instance job. They are held in
// blocks of updateBlock, taken from the front: the queue holds its updates
// and at most two blocks more (the first one's taken part, the last one's
// free part), where one slice appended at the back and sliced at the front
// kept growing ahead of them (up to about twice).
type updateQueue struct {
	mu      sync.Mutex
	blocks  [][]queuedUpdate // each of capacity updateBlock; blocks[0][head:] goes first
	head    int              // updates of blocks[0] taken already
	n       int              // updates queued
	seed    maphash.Seed
	queued  map[uint64]struct{} // updateHash of each queued update that has a uuid
	pushed  uint64              // updates received so far (copies dropped not counted)
	taken   uint64              // updates handed to the update loop so far
	dropped uint64              // copies of queued updates dropped
	signal  chan struct{}
}

// queuedUpdate is a received status update as the update loop uses it: the
// engine's view of it, decoded once at receipt (toStatus), and the uuid
// its acknowledgement names (empty for master-made updates).
type queuedUpdate struct {
	status engine.Status
	uuid   []byte
	source mesos.TaskStatus_Source
}

// updateBlock is how many queued updates one block of the queue holds
// (about 90 KB).
const updateBlock = 512

func newUpdateQueue() *updateQueue {
	return &updateQueue{signal: make(chan struct{}, 1), seed: maphash.MakeSeed()}
}

// push queues s unless a copy of it is queued. Updates are known by a
// 64-bit hash of task id and uuid: were two distinct updates to collide
// while both wait, the later would be dropped as a copy, and its agent,
// never acknowledged, resends it.
func (q *updateQueue) push(s *mesos.TaskStatus) {
	u := queuedUpdate{status: toStatus(s), uuid: s.UUID, source: s.GetSource()}
	q.mu.Lock()
	if len(u.uuid) > 0 {
		k := updateHash(q.seed, u.status.TaskID, u.uuid)
		if _, queued := q.queued[k]; queued {
			q.dropped++
			q.mu.Unlock()
			return
		}
		if q.queued == nil {
			q.queued = map[uint64]struct{}{}
		}
		q.queued[k] = struct{}{}
	}
	last := len(q.blocks) - 1
	if last < 0 || len(q.blocks[last]) == updateBlock {
		q.blocks = append(q.blocks, make([]queuedUpdate, 0, updateBlock))
		last++
	}
	q.blocks[last] = append(q.blocks[last], u)
	q.n++
	q.pushed++
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns up to max updates and the number of the first.
func (q *updateQueue) take(max int) (batch []queuedUpdate, first uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, q.n)
	out := make([]queuedUpdate, 0, n)
	for len(out) < n {
		b := q.blocks[0]
		k := min(n-len(out), len(b)-q.head)
		out = append(out, b[q.head:q.head+k]...)
		q.head += k
		if q.head == len(b) && len(b) == updateBlock {
			q.blocks[0] = nil
			q.blocks, q.head = q.blocks[1:], 0
		}
	}
	q.n -= n
	for i := range out {
		if len(out[i].uuid) > 0 {
			delete(q.queued, updateHash(q.seed, out[i].status.TaskID, out[i].uuid))
		}
	}
	if q.n == 0 {
		// Drop what a burst grew: the last block, and the index (a Go
		// map keeps the buckets of its largest size).
		q.blocks, q.head, q.queued = nil, 0, nil
	}
	first = q.taken + 1
	q.taken += uint64(n)
	if q.n > 0 {
		select {
		case q.signal <- struct{}{}:
		default:
		}
	}
	return out, first
}

// waiting is the number of updates queued and not taken yet.
func (q *updateQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// arrived is the number of updates that came, copies dropped included.
func (q *updateQueue) arrived() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed + q.dropped
}

// received is the number of updates received so far.
func (q *updateQueue) received() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed
}

// ackLedger remembers, per acknowledged update (task id and uuid), how many
// updates had been received when its ACKNOWLEDGE was sent. A copy of that
// update numbered at most that is a duplicate delivery the agent sent
// before it had the acknowledgement (its retry timer, a re-registration):
// acknowledging it again is an "unexpected status update acknowledgement"
// on the agent. A copy received later is acknowledged again (the first
// acknowledgement may have been lost with a disconnected agent).
//
// An update is remembered by a 64-bit hash of its task id and uuid, not
// the strings (100,000 entries held ~14 MB as strings at the peak of a
// 200,000-instance job): two updates whose hashes collide (about one
// chance in 10^9 with the ledger full) would have the later one taken for
// a copy of the first and not acknowledged, and the agent resends it.
type ackLedger struct {
	seed maphash.Seed
	// The acknowledgements recorded, in two generations of at most
	// ackLedgerGeneration each: once sent is full it becomes previous,
	// and the previous one goes whole. A Go map keeps the buckets of its
	// largest size, so one map swept of its old entries kept the size of
	// the ledger's bound however few it then held (5.6 MB at the peak of
	// a 200,000-instance job), and each sweep walked all of it.
	sent, previous map[uint64]uint64
}

// ackLedgerGeneration bounds a generation of the ledger: the last 50,000
// to 100,000 acknowledgements are remembered (a duplicate that late is
// acknowledged again).
const ackLedgerGeneration = 50_000

// updateHash is the 64-bit hash (with seed) that stands for an update,
// its task id and uuid, in the update queue and the ack ledger.
func updateHash(seed maphash.Seed, taskID string, uuid []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(taskID)
	h.WriteByte(0)
	h.Write(uuid)
	return h.Sum64()
}

func (l *ackLedger) key(taskID string, uuid []byte) uint64 {
	if l.sent == nil {
		l.seed, l.sent = maphash.MakeSeed(), map[uint64]uint64{}
	}
	return updateHash(l.seed, taskID, uuid)
}

// duplicate reports whether update number seq of (taskID, uuid) was
// received before an acknowledgement of it was sent.
func (l *ackLedger) duplicate(taskID string, uuid []byte, seq uint64) bool {
	k := l.key(taskID, uuid)
	at, ok := l.sent[k]
	if !ok {
		at, ok = l.previous[k]
	}
	return ok && seq <= at
}

// acked records an acknowledgement sent when `received` updates had come.
func (l *ackLedger) acked(taskID string, uuid []byte, received uint64) {
	k := l.key(taskID, uuid)
	if len(l.sent) >= ackLedgerGeneration {
		l.previous, l.sent = l.sent, map[uint64]uint64{}
	}
	l.sent[k] = received
}

// updateLoop is the one place status updates are acknowledged: each batch
// is stored in etcd first, then committed to the engine, then acked. A
// batch that cannot be stored is not acknowledged: agents resend it.
//
// The acknowledgements of one batch are sent while the next batch is
// stored (one batch's acknowledgements in flight at a time, batches'
// acknowledgements in order): a batch's write no longer waits for the
// previous batch's HTTP round trips, and the updates that arrive meanwhile
// make the next batch (group commit). Acknowledging only after the store
// is what the failover guarantee needs; the overlap changes nothing there.
//
// A RUNNING update's record waits (runningrecords.go): it is acknowledged
// without a write and stored Config.RunningRecordDelay later, unless the task's
// next record (its end) supersedes it first.
func (f *Framework) updateLoop(ctx context.Context) {
	acked := make(chan struct{})
	close(acked) // no acknowledgements in flight yet
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	for {
		select {
		case <-ctx.Done():
			<-acked
			return
		case <-f.updates.signal:
		case now := <-flush.C:
			f.storeDeferredRunning(ctx, now)
			f.deferred.arm(flush)
			continue
		}
		batch, first := f.updates.take(MaxUpdateBatch)
		if len(batch) == 0 {
			continue
		}
		ack := f.processUpdates(ctx, batch, first)
		f.deferred.arm(flush)
		<-acked // the previous batch's acknowledgements went first
		done := make(chan struct{})
		go func() {
			defer close(done)
			ack()
		}()
		acked = done
	}
}

// toStatus is the engine's view of a received update. Its agent id is
// interned: a cluster has few agents, and each decoded update carries its
// own copy of the id, which queued updates and the attempts they make
// kept (2.5 MB at the peak of a 200,000-instance job on 20 agents).
func toStatus(s *mesos.TaskStatus) engine.Status {
	st := engine.Status{TaskID: s.TaskID.Value, State: s.GetState(), AgentID: unique.Make(s.GetAgentID().GetValue()).Value(), Message: s.GetMessage()}
	if s.Reason != nil {
		st.Reason = s.GetReason().String()
	}
	if ts := s.GetTimestamp(); ts > 0 {
		st.Time = time.Unix(0, int64(ts*1e9)).UTC()
	}
	if engine.AttemptStateOf(s.GetState()).Terminal() {
		st.ExitCode, st.Signal, st.Outputs, st.Artifacts = taskResult(s)
	}
	return st
}

// processUpdates stores and commits a batch of updates numbered from first
// (updateQueue) and returns what acknowledges them (nothing for a batch
// that could not be stored), for the caller to run once the previous
// batch's acknowledgements are sent.
func (f *Framework) processUpdates(ctx context.Context, batch []queuedUpdate, first uint64) (acknowledge func()) {
	sts := make([]engine.Status, len(batch))
	for i := range batch {
		sts[i] = batch[i].status
		updatesTotal.WithLabelValues(sts[i].State.String()).Inc()
	}
	f.work.Add(uint64(len(batch)))
	f.awaited.saw(sts)
	u := f.engine.DecideUpdates(sts)
	if f.log.Enabled(ctx, slog.LevelDebug) {
		for i := range batch {
			f.log.Debug("status update", "task", sts[i].TaskID, "state", sts[i].State.String(), "source", batch[i].source.String(),
				"reason", sts[i].Reason, "uuid", len(batch[i].uuid) > 0, "stored", u.Outcomes[i].Attempt != nil, "kill", u.Outcomes[i].Kill)
		}
	}
	if len(u.Store) > 0 {
		now, later := splitRunning(u.Store)
		if len(now) > 0 {
			if err := f.store.PutAttempts(ctx, now); err != nil {
				f.log.Warn("status updates not stored; not acknowledging", "updates", len(batch), "err", err)
				return func() {}
			}
			recordsStoredByUpdate.Add(float64(len(now)))
			f.deferred.superseded(now)
		}
		f.deferred.add(later, time.Now())
		more := f.engine.ApplyUpdates(&u)
		if f.cfg.Queue != nil {
			for _, a := range u.Release {
				f.releaseQueue(ctx, a)
			}
		}
		if more {
			f.Revive()
		}
	}
	if len(u.Kill) > 0 {
		go f.killUnexpected(ctx, u.Kill)
	}
	return func() { f.acknowledgeAll(ctx, batch, first) }
}

// ackSenders is how many ACKNOWLEDGEs acknowledgeAll has in flight.
const ackSenders = 16

// acknowledgeAll ACKNOWLEDGEs the batch's updates that carry a uuid, once
// (ackLedger). Tasks are acknowledged concurrently by ackSenders
// goroutines (on the fast path, so acknowledgements neither queue behind
// each other nor hold up the offer path's calls; not one goroutine per
// task, each growing its stack for the HTTP call), each task's updates in
// order: an agent expects them so.
func (f *Framework) acknowledgeAll(ctx context.Context, batch []queuedUpdate, first uint64) {
	perTask := map[string][]int{}
	var tasks []string
	for i := range batch {
		if len(batch[i].uuid) == 0 {
			continue // master-made updates (reconciliation, invalid offers) are never acked
		}
		id := batch[i].status.TaskID
		if _, ok := perTask[id]; !ok {
			tasks = append(tasks, id)
		}
		perTask[id] = append(perTask[id], i)
	}
	var (
		mu   sync.Mutex // guards f.acks
		wg   sync.WaitGroup
		next atomic.Int64 // the next task of tasks to acknowledge
	)
	send := func(idx []int) {
		for _, i := range idx {
			s := &batch[i]
			task := s.status.TaskID
			mu.Lock()
			dup := f.acks.duplicate(task, s.uuid, first+uint64(i))
			mu.Unlock()
			if dup {
				f.log.Debug("duplicate of an acknowledged update; not acknowledging again", "task", task)
				continue
			}
			received := f.updates.received()
			if err := f.act.acknowledge(ctx, s.status.AgentID, task, s.uuid); err != nil {
				f.log.Debug("acknowledge", "task", task, "err", err)
				continue
			}
			mu.Lock()
			f.acks.acked(task, s.uuid, received)
			mu.Unlock()
		}
	}
	for range min(ackSenders, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(tasks) {
					return
				}
				send(perTask[tasks[k]])
			}
		}()
	}
	wg.Wait()
}

// killUnexpected kills tasks Mesos reported alive that Gleaner does not
// expect, but not those whose stored record says they ended for good: the
// update about them was a stale copy. If the records cannot be read every
// one is killed (a KILL too many is harmless, a task left running is not).
func (f *Framework) killUnexpected(ctx context.Context, kills map[string]string) {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.RequestTimeout)
	defer cancel()
	var unheld []string
	for id := range kills {
		if _, held := f.engine.ActiveAttempt(id); !held {
			unheld = append(unheld, id)
		}
	}
	if len(unheld) > 0 {
		stored, err := f.store.AttemptsByTaskID(kctx, unheld)
		if err != nil {
			f.log.Warn("read the records of tasks to kill; killing them all", "tasks", len(kills), "err", err)
		} else {
			var stale []string
			kills, stale = withoutStale(kills, stored)
			if len(stale) > 0 {
				staleUpdatesTotal.Add(float64(len(stale)))
				f.log.Debug("stale updates of tasks that ended; not killing them", "tasks", len(stale))
			}
		}
	}
	if len(kills) > 0 {
		f.Kill(kctx, kills)
	}
}

// withoutStale splits kills (task id → agent id) into the tasks to kill and
// those whose stored record says they ended for good (engine.EndedForGood).
func withoutStale(kills map[string]string, stored map[string]job.Attempt) (keep map[string]string, stale []string) {
	keep = make(map[string]string, len(kills))
	for id, agent := range kills {
		if a, ok := stored[id]; ok && engine.EndedForGood(&a) {
			stale = append(stale, id)
			continue
		}
		keep[id] = agent
	}
	sort.Strings(stale)
	return keep, stale
}

var exitRE = regexp.MustCompile(`exited with status (-?\d+)`)

// taskResult reads an ended task's exit code, terminating signal and
// output parameters: the Gleaner executor's TaskResult in TaskStatus.data
// (decoded once; the outputs come only from it), else the
// command executor's message ("exited with status N"), else 0 for
// TASK_FINISHED; the exit code is nil when none of these tells it.
func taskResult(s *mesos.TaskStatus) (exit *int, signal int, outputs map[string]string, arts []job.ArtifactRef) {
	if len(s.Data) > 0 {
		var r gleanerpb.TaskResult
		if err := r.Unmarshal(s.Data); err == nil {
			c := int(r.ExitCode)
			return &c, int(r.Signal), r.Outputs, artifactRefs(r.Artifacts)
		}
	}
	if m := exitRE.FindStringSubmatch(s.GetMessage()); m != nil {
		if c, err := strconv.Atoi(m[1]); err == nil {
			return &c, 0, nil, nil
		}
	}
	if s.GetState() == mesos.TASK_FINISHED {
		c := 0
		return &c, 0, nil, nil
	}
	return nil, 0, nil, nil
}
