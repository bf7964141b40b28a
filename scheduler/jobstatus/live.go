package jobstatus

import (
	"math/bits"
	"sort"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Live is a Reduction that follows changes: it is built from a scan of a
// job's attempts (Add, a page at a time, as a Reduction is) and then takes
// each stored change (Put, Delete), answering Status, Kept, Folds and
// Attempts as a Reduction over the records stored at that point would. It
// keeps what a Reduction keeps: a plain success and a lone running instance
// as a bit of their task's index sets, every attempt of every other
// instance. The events detector
// follows a running job with it instead of re-reading every record at each
// poll (issue 16).
type Live struct {
	j *job.Job
	// plain and foldable: per task of the spec, a bit per index below its
	// instance count (a Reduction's plain and foldable index lists).
	plain    map[string][]uint64
	foldable map[string][]uint64
	// running: per task, a bit per lone running instance (a Reduction's
	// running index lists).
	running map[string][]uint64
	// bareAttempt: the attempt number of a plain or lone running
	// instance's only record when it is not 0 (rare: its earlier records
	// were deleted).
	bareAttempt map[instance]int
	kept        map[instance][]job.Attempt // sorted by attempt number
	names       map[string]string          // the kept records' repeated strings, shared
	attempts    int
	lastEnded   time.Time
}

type instance struct {
	task  string
	index int
}

// maxLiveNames bounds the string table (a job names a few agents, hosts,
// states and reasons; past this, new values are kept as they come).
const maxLiveNames = 4096

// NewLive starts following j's attempts; feed it the scan with Add.
func NewLive(j *job.Job) *Live {
	return &Live{j: j, plain: map[string][]uint64{}, foldable: map[string][]uint64{}, running: map[string][]uint64{},
		bareAttempt: map[instance]int{}, kept: map[instance][]job.Attempt{}, names: map[string]string{}}
}

// Job is the job record the Live derives with.
func (l *Live) Job() *job.Job { return l.j }

// Add takes a page of the scan, every attempt of each of its instances
// (as store.ScanAttempts hands them over); the page may be reused.
func (l *Live) Add(page []job.Attempt) {
	sorted := append([]job.Attempt(nil), page...)
	sort.SliceStable(sorted, func(a, b int) bool { return attemptLess(&sorted[a], &sorted[b]) })
	for len(sorted) > 0 {
		n := 1
		for n < len(sorted) && sorted[n].Task == sorted[0].Task && sorted[n].Index == sorted[0].Index {
			n++
		}
		l.set(instance{sorted[0].Task, sorted[0].Index}, sorted[:n:n])
		sorted = sorted[n:]
	}
}

// Put applies a stored attempt record (new, or overwriting the record of
// the same task, index and attempt). It returns false when it cannot
// follow exactly — a new attempt of an instance kept as a bit (a plain
// success, a lone running one), whose record it no longer holds: the
// caller must scan the job again.
func (l *Live) Put(a job.Attempt) bool {
	k := instance{a.Task, a.Index}
	if n, ok := l.bareNumber(k); ok {
		if n != a.Attempt {
			return false
		}
		l.set(k, []job.Attempt{a})
		return true
	}
	cur := l.kept[k]
	out := make([]job.Attempt, 0, len(cur)+1)
	placed := false
	for _, c := range cur {
		switch {
		case c.Attempt == a.Attempt:
			out, placed = append(out, a), true
			continue
		case c.Attempt > a.Attempt && !placed:
			out, placed = append(out, a), true
		}
		out = append(out, c)
	}
	if !placed {
		out = append(out, a)
	}
	l.set(k, out)
	return true
}

// Delete applies the deletion of the record of task, index and attempt
// (nothing if there is none).
func (l *Live) Delete(task string, index, attempt int) {
	k := instance{task, index}
	if n, ok := l.bareNumber(k); ok {
		if n == attempt {
			l.set(k, nil)
		}
		return
	}
	cur := l.kept[k]
	for i := range cur {
		if cur[i].Attempt == attempt {
			out := append(append(make([]job.Attempt, 0, len(cur)-1), cur[:i]...), cur[i+1:]...)
			l.set(k, out)
			return
		}
	}
}

// bareNumber: whether k is kept as a bit (a plain success, a lone running
// instance), and its only record's attempt number.
func (l *Live) bareNumber(k instance) (int, bool) {
	if !hasBit(l.plain[k.task], k.index) && !hasBit(l.running[k.task], k.index) {
		return 0, false
	}
	return l.bareAttempt[k], true
}

// set replaces what is known of instance k by its records as (sorted by
// attempt number; nil: it has none). The Live owns as afterwards.
func (l *Live) set(k instance, as []job.Attempt) {
	if _, bare := l.bareNumber(k); bare {
		clearBit(l.plain[k.task], k.index)
		clearBit(l.running[k.task], k.index)
		delete(l.bareAttempt, k)
		l.attempts--
	} else if cur, ok := l.kept[k]; ok {
		delete(l.kept, k)
		l.attempts -= len(cur)
	}
	clearBit(l.foldable[k.task], k.index)
	if len(as) == 0 {
		return
	}
	l.attempts += len(as)
	for i := range as {
		if as[i].Ended.After(l.lastEnded) {
			l.lastEnded = as[i].Ended
		}
	}
	a := &as[0]
	t := l.j.Task(a.Task)
	if len(as) == 1 && t != nil && a.Index < t.Instances && a.Attempt == 0 && succeededDone(a) {
		l.setBit(l.foldable, t, a.Index) // job.PlanFolds' rule, as a Reduction applies it
	}
	var bits map[string][]uint64 // kept as a bit instead of its record
	switch {
	case len(as) != 1:
	case (&Reduction{j: l.j}).plainSuccess(t, a):
		bits = l.plain
	case loneRunning(t, a):
		bits = l.running
	}
	if bits != nil {
		l.setBit(bits, t, a.Index)
		if a.Attempt != 0 {
			l.bareAttempt[k] = a.Attempt
		}
		return
	}
	for i := range as {
		l.intern(&as[i])
	}
	l.kept[k] = as
}

func (l *Live) setBit(sets map[string][]uint64, t *job.TaskSpec, i int) {
	if i < 0 {
		return
	}
	s := sets[t.Name]
	if s == nil {
		s = make([]uint64, (t.Instances+63)/64)
		sets[t.Name] = s
	}
	s[i/64] |= 1 << (i % 64)
}

func hasBit(s []uint64, i int) bool {
	return i >= 0 && i/64 < len(s) && s[i/64]&(1<<(i%64)) != 0
}

func clearBit(s []uint64, i int) {
	if i >= 0 && i/64 < len(s) {
		s[i/64] &^= 1 << (i % 64)
	}
}

// indexes lists the set bits of s.
func indexes(s []uint64) []int {
	var out []int
	for w, word := range s {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			out = append(out, w*64+b)
			word &^= 1 << b
		}
	}
	return out
}

func (l *Live) intern(a *job.Attempt) {
	of := func(s string) string {
		if s == "" {
			return ""
		}
		if v, ok := l.names[s]; ok {
			return v
		}
		if len(l.names) < maxLiveNames {
			l.names[s] = s
		}
		return s
	}
	a.Job, a.Task, a.State = of(a.Job), of(a.Task), job.AttemptState(of(string(a.State)))
	a.AgentID, a.Hostname = of(a.AgentID), of(a.Hostname)
	a.MesosState, a.Reason, a.Verdict = of(a.MesosState), of(a.Reason), of(a.Verdict)
}

// Kept is the records kept, sorted (a Reduction's Kept), in a new slice.
func (l *Live) Kept() []job.Attempt {
	out := make([]job.Attempt, 0, len(l.kept))
	for _, as := range l.kept {
		out = append(out, as...)
	}
	sort.Slice(out, func(a, b int) bool { return attemptLess(&out[a], &out[b]) })
	return out
}

// Status is a Reduction's Status over the records stored now.
func (l *Live) Status() job.Status {
	st, _ := l.View()
	return st
}

// View is Status and Kept, sorting the kept records once.
func (l *Live) View() (job.Status, []job.Attempt) {
	kept := l.Kept()
	plain, running := setIndexes(l.plain), setIndexes(l.running)
	if len(plain) == 0 {
		return derive(l.j, kept, running), kept
	}
	c := *l.j
	c.Folded = withPlain(l.j.Folded, plain)
	return derive(&c, kept, running), kept
}

// setIndexes lists each task's set bits (tasks with none left out).
func setIndexes(sets map[string][]uint64) map[string][]int {
	out := map[string][]int{}
	for task, s := range sets {
		if idx := indexes(s); len(idx) > 0 {
			out[task] = idx
		}
	}
	return out
}

// Folds is a Reduction's Folds over the records stored now.
func (l *Live) Folds() job.Folds {
	out := job.Folds{}
	for _, t := range l.j.Spec.Tasks {
		if idx := indexes(l.foldable[t.Name]); len(idx) > 0 {
			out[t.Name] = ranges(idx)
		}
	}
	return out
}

// Attempts is how many records are stored now.
func (l *Live) Attempts() int { return l.attempts }

// LastEnded is the latest end of any record taken (a Reduction's
// LastEnded while no record was deleted; a deleted record's end stays).
func (l *Live) LastEnded() time.Time { return l.lastEnded }
