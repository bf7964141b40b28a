package engine

import (
	"sort"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/dag"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/retry"
)

// Engine holds the live scheduling state of unfinished jobs. Pending
// instances that never ran cost nothing: a task keeps the next
// never-launched index and a queue of indexes to run again.
type Engine struct {
	mu      sync.Mutex
	jobs    map[string]*jobState
	order   []string              // FIFO of job ids
	active  map[string]*instState // launching or running instances by their attempt's task id
	matcher Matcher
	now     func() time.Time
	// sameAgentWait: how long a retry waits for its previous agent
	// (sameagent.go).
	sameAgentWait time.Duration
}

type jobState struct {
	job   *job.Job
	tasks []*taskState
	b     batchJob
}

type taskState struct {
	js        *jobState
	spec      *job.TaskSpec
	next      int   // lowest index never launched
	requeue   []int // indexes waiting for another attempt
	inst      map[int]*instState
	succeeded int
	failed    int
	active    int
	b         batchTask
	// timeoutCheck is when Tick next looks at the task's active attempts
	// for one past its timeout (zero: at the next Tick): no attempt of the
	// task is due before it.
	timeoutCheck time.Time
}

// instState is an instance that ran or runs (one that never ran costs
// nothing). While its last attempt is launching or running it is in
// Engine.active under that attempt's task id; it is the only record an
// active attempt costs, so it holds what every active attempt needs and
// leaves what few need to extra.
type instState struct {
	task     *taskState
	index    int
	attempts int // attempt number of the next attempt
	failures int // attempts that consumed a retry
	// last is the last attempt's whole record: an ended one, or an active
	// one run cannot hold (compactAttempt); nil while run holds it.
	last *job.Attempt
	// run is the active attempt's record, compact (active.go); nil when
	// the instance is not active or last holds the record.
	run  *activeAttempt
	done bool
	// sent: the ACCEPT carrying the active attempt has returned (or the
	// attempt was loaded from etcd), so reconciling it cannot overtake the
	// launch.
	sent bool
	// launches counts the launches of the instance (Forget does not undo
	// it): a retry decision is applied to the launch it was made for.
	launches uint32
	hist     retry.History // retry history of its ended attempts
	extra    *instExtra    // nil unless one of its fields is set
}

// instExtra is what only some instances need, allocated when first set.
type instExtra struct {
	// prev is the instance's previous attempt, restored by Forget; kept
	// from the launch until the launch is sent (MarkSent).
	prev *job.Attempt
	// requeue, when set, is why the active attempt is being killed by
	// Gleaner (moved, preempted): it ends lost, requeued without using a
	// retry.
	requeue string
	// requeueDetail, if set, leads the ended attempt's message (e.g.
	// "reclaimed: memory short: …" for an eviction; reclaim.go).
	requeueDetail string
	// kill, when set, is why Gleaner kills the active attempt itself
	// (timeout, failJob, deadline exceeded, suspended): it decides the
	// outcome.
	kill string
	// prefer is the agent a retry waits for until preferUntil
	// (sameagent.go).
	prefer      string
	preferUntil time.Time
	// runReason and runMessage are the Reason and Message of the active
	// attempt's record when run holds it (a status update may carry them
	// while the attempt runs; few do).
	runReason  string
	runMessage string
}

// more returns in's extra fields, allocating them when none are set.
func (in *instState) more() *instExtra {
	if in.extra == nil {
		in.extra = &instExtra{}
	}
	return in.extra
}

// trimExtra drops in's extra fields when none is set.
func (in *instState) trimExtra() {
	if x := in.extra; x != nil && *x == (instExtra{}) {
		in.extra = nil
	}
}

func (in *instState) prev() *job.Attempt {
	if in.extra == nil {
		return nil
	}
	return in.extra.prev
}

func (in *instState) requeueReason() string {
	if in.extra == nil {
		return ""
	}
	return in.extra.requeue
}

func (in *instState) requeueDetail() string {
	if in.extra == nil {
		return ""
	}
	return in.extra.requeueDetail
}

func (in *instState) killReason() string {
	if in.extra == nil {
		return ""
	}
	return in.extra.kill
}

// startAttempt makes in active with a new attempt: the previous one's
// marks are cleared and prev kept for Forget.
func (in *instState) startAttempt(prev *job.Attempt, sent bool) {
	in.launches++
	in.sent = sent
	if in.extra != nil {
		in.extra.prev, in.extra.requeue, in.extra.requeueDetail, in.extra.kill = nil, "", "", ""
		in.extra.runReason, in.extra.runMessage = "", ""
	}
	if prev != nil {
		in.more().prev = prev
	}
	in.trimExtra()
}

// dropPrev forgets the previous attempt once Forget cannot need it.
func (in *instState) dropPrev() {
	if in.extra != nil && in.extra.prev != nil {
		in.extra.prev = nil
		in.trimExtra()
	}
}

// New returns an empty engine using matcher (FirstFit if nil).
func New(matcher Matcher) *Engine {
	if matcher == nil {
		matcher = FirstFit{}
	}
	return &Engine{jobs: map[string]*jobState{}, active: map[string]*instState{}, matcher: matcher, now: time.Now, sameAgentWait: DefaultSameAgentWait}
}

// SetClock replaces time.Now (tests).
func (e *Engine) SetClock(now func() time.Time) { e.now = now }

// Load (re)builds the engine from stored jobs and their attempts (as read
// from the store by a new leader). Finished jobs are skipped.
func (e *Engine) Load(jobs []*job.Job, attempts map[string][]job.Attempt) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.jobs = map[string]*jobState{}
	e.order = nil
	e.active = map[string]*instState{}
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].Submitted.Before(jobs[b].Submitted) })
	for _, j := range jobs {
		e.loadJobLocked(j, attempts[j.ID])
	}
}

// loadJobLocked adds one stored job with its attempts (Load, Retry).
func (e *Engine) loadJobLocked(j *job.Job, attempts []job.Attempt) {
	j = dag.ResolveFanOut(j, dag.OutputsOf(&j.Spec, attempts)) // withParam tasks that fanned out (fanout.go)
	js := e.addLocked(j)
	per := map[*instState][]job.Attempt{}
	for _, a := range jobstatus.RetryView(j, attempts) {
		t := js.task(a.Task)
		if t == nil || a.Index >= t.spec.Instances {
			continue
		}
		in := t.instance(a.Index)
		per[in] = append(per[in], a)
		if a.Attempt+1 > in.attempts {
			in.attempts = a.Attempt + 1
		}
		if a.State == job.AttemptFailed || a.State == job.AttemptKilled {
			in.failures++
		}
		if in.last == nil || a.Attempt > in.last.Attempt {
			c := a
			in.last = &c
		}
	}
	for _, t := range js.tasks {
		idx := make([]int, 0, len(t.inst))
		for i := range t.inst {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			in := t.inst[i]
			if i >= t.next {
				t.next = i + 1
			}
			in.hist = replayHistory(t.b.policy, per[in], j.KillRequested, j.RetriedAt)
			if in.last.State.Terminal() && t.loadVerdict(js, in, j.KillRequested) {
				if !in.done && in.last.Verdict == job.VerdictAgain {
					// a new leader keeps a retry's wait for its agent
					o := storedOutcome(in.last, j.KillRequested)
					e.preferAgent(in, in.last, t.b.policy.Decide(o, retry.History{}).SameAgent)
				}
				continue
			}
			switch s := in.last.State; {
			case s == job.AttemptSucceeded:
				in.done = true
				t.succeeded++
			case !s.Terminal():
				t.active++
				a := in.last
				in.startAttempt(nil, true)
				in.setActive(a)
				e.active[a.TaskID()] = in
				if tr, ok := e.matcher.(Tracker); ok {
					tr.Started(j.ID, t.spec.Name, a.Hostname)
				}
			case in.failures > t.spec.Retries:
				in.done = true
				t.failed++
			case !j.KillRequested:
				t.requeue = append(t.requeue, i)
			}
		}
		// Indexes below next that have no attempt (a launch undone
		// before it was stored) go back to the queue.
		for i := 0; i < t.next; i++ {
			if _, ok := t.inst[i]; !ok {
				t.requeue = append(t.requeue, i)
			}
		}
		t.prune()
	}
	if js.finished() {
		e.removeLocked(j.ID)
	}
}

// AddJob starts scheduling a (stored) job.
func (e *Engine) AddJob(j *job.Job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.jobs[j.ID]; ok {
		return
	}
	e.addLocked(j)
}

func (e *Engine) addLocked(j *job.Job) *jobState {
	js := &jobState{job: j}
	for i := range j.Spec.Tasks {
		js.tasks = append(js.tasks, &taskState{js: js, spec: &j.Spec.Tasks[i], inst: map[int]*instState{}})
	}
	e.jobs[j.ID] = js
	e.order = append(e.order, j.ID)
	e.initBatch(js)
	return js
}

func (e *Engine) removeLocked(id string) {
	if tr, ok := e.matcher.(Tracker); ok {
		tr.JobDone(id)
	}
	delete(e.jobs, id)
	for i, o := range e.order {
		if o == id {
			e.order = append(e.order[:i], e.order[i+1:]...)
			break
		}
	}
}

func (js *jobState) task(name string) *taskState {
	for _, t := range js.tasks {
		if t.spec.Name == name {
			return t
		}
	}
	return nil
}

func (t *taskState) instance(i int) *instState {
	in := t.inst[i]
	if in == nil {
		in = &instState{task: t, index: i}
		t.inst[i] = in
	}
	return in
}

func (t *taskState) pending() int { return len(t.requeue) + t.spec.Instances - t.next }

func (t *taskState) complete() bool {
	if ok, perIndex := t.indexesSucceeded(); perIndex {
		return ok
	}
	return t.succeeded >= t.spec.Needed()
}

func (js *jobState) failedOrKilled() bool {
	if js.job.KillRequested {
		return true
	}
	for _, t := range js.tasks {
		if t.failed > 0 {
			return true
		}
	}
	return false
}

func (js *jobState) activeCount() int {
	n := 0
	for _, t := range js.tasks {
		n += t.active
	}
	return n
}

func (js *jobState) finished() bool {
	all := true
	for _, t := range js.tasks {
		if !t.complete() {
			all = false
		}
	}
	return all || js.batchFinished()
}

// runnable reports whether t's dependencies are all complete.
func (js *jobState) runnable(t *taskState) bool {
	for _, d := range t.spec.Depends {
		if dt := js.task(d); dt == nil || !dt.complete() {
			return false
		}
	}
	return true
}

// demandsLocked lists runnable pending work in job FIFO order.
func (e *Engine) demandsLocked() ([]Demand, []*taskState) {
	var ds []Demand
	var ts []*taskState
	for _, id := range e.order {
		js := e.jobs[id]
		if js.job.KillRequested || js.job.Suspended || js.b.failing != "" {
			continue
		}
		js.evaluate()
		for _, t := range js.tasks {
			if n := t.capacity(); n > 0 && js.ready(t) {
				ds = append(ds, Demand{Job: id, Task: t.spec.Name, Resources: t.spec.Resources, Count: n,
					Priority: js.job.Spec.Priority, User: js.job.Spec.User, Queue: js.job.Spec.Queue, Constraints: t.spec.Constraints})
				ts = append(ts, t)
			}
		}
	}
	return ds, ts
}

// HasPending reports whether any instance could be launched now.
func (e *Engine) HasPending() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	ds, _ := e.demandsLocked()
	return len(ds) > 0
}

// PendingCount is the number of runnable pending instances.
func (e *Engine) PendingCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	ds, _ := e.demandsLocked()
	n := 0
	for _, d := range ds {
		n += d.Count
	}
	return n
}

// Launch is one attempt to start on an offer.
type Launch struct {
	Offer   int // index into the offers given to Plan
	Attempt job.Attempt
	Spec    *job.TaskSpec
}

// Plan matches pending instances to offers and assumes the resulting
// launches: the instances count as launching until Forget or an update.
// The caller must store the attempts before accepting, and Forget them if
// that fails.
func (e *Engine) Plan(offers []Offer) []Launch {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(offers) == 0 {
		return nil
	}
	ds, ts := e.demandsLocked()
	return e.planLocked(offers, ds, ts, 0)
}

// planLocked is Plan on demands already built (demandsLocked).
func (e *Engine) planLocked(offers []Offer, ds []Demand, ts []*taskState, maxLaunches int) []Launch {
	if len(ds) == 0 {
		return nil
	}
	now := e.now()
	// Retries held for their previous agent go first, on that agent only.
	out, rest, heldN := e.planHeldLocked(offers, ds, ts, now)
	room := -1 // launches left to decide; -1: no bound
	if maxLaunches > 0 {
		room = max(0, maxLaunches-len(out))
	}
	gds, gts := ds[:0:0], ts[:0:0]
	for di, d := range ds {
		t := ts[di]
		d.Count = min(t.capacity(), t.pending()-heldN[di])
		if room >= 0 {
			d.Count = min(d.Count, room)
			room -= max(d.Count, 0)
		}
		if d.Count > 0 {
			gds, gts = append(gds, d), append(gts, t)
		}
	}
	if len(gds) == 0 {
		return out
	}
	for _, p := range e.matcher.Match(rest, gds) {
		t := gts[p.Demand]
		js := e.jobs[gds[p.Demand].Job]
		for k := 0; k < p.Count && t.capacity() > 0; k++ {
			idx, ok := t.takeIndex("", now)
			if !ok {
				break
			}
			out = append(out, e.launchLocked(js, t, idx, offers, p.Offer, now))
		}
	}
	return out
}

// launchLocked assumes one attempt of t's instance idx on offers[oi].
func (e *Engine) launchLocked(js *jobState, t *taskState, idx int, offers []Offer, oi int, now time.Time) Launch {
	in := t.instance(idx)
	prev := in.last
	o := offers[oi]
	a := job.Attempt{Job: js.job.ID, Task: t.spec.Name, Index: idx, Attempt: in.attempts, State: job.AttemptLaunching,
		AgentID: o.AgentID, Hostname: o.Hostname, Created: now}
	in.attempts++
	in.startAttempt(prev, false)
	in.run, in.last = &activeAttempt{agentID: a.AgentID, hostname: a.Hostname, created: now, attempt: a.Attempt}, nil
	t.active++
	e.active[a.TaskID()] = in
	return Launch{Offer: oi, Attempt: a, Spec: t.spec}
}

// Forget undoes launches from Plan that were never stored or sent.
func (e *Engine) Forget(ls []Launch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(ls) - 1; i >= 0; i-- {
		a := ls[i].Attempt
		in := e.active[a.TaskID()]
		if in == nil {
			continue
		}
		delete(e.active, a.TaskID())
		if tr, ok := e.matcher.(Tracker); ok {
			tr.Stopped(a.Job, a.Task, a.Hostname)
		}
		in.task.active--
		in.attempts--
		if in.attempts == 0 {
			delete(in.task.inst, a.Index)
		} else {
			in.setLast(in.prev())
		}
		in.dropPrev()
		in.task.requeue = append([]int{a.Index}, in.task.requeue...)
	}
}
