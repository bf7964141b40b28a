package jobstatus

import (
	"sort"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Reduction derives a job's status from its attempts read a page at a
// time (store.ScanAttempts), keeping only what the status can depend on: an
// instance whose one attempt succeeded with nothing to tell (no outputs,
// no retry pending) is kept as its index, and counted as a fold counts it;
// an instance whose one attempt runs (or launches) with nothing to tell is
// kept as its index too, and counted as running; every other instance
// keeps its records. Status equals Derive and Folds equals job.PlanFolds
// over all the attempts, so a 200,000-instance job that succeeded, or
// 30,000 instances running at once, are derived from a few index lists
// instead of as many decoded records (issue 16).
type Reduction struct {
	j         *job.Job
	kept      []job.Attempt
	plain     map[string][]int // per task: succeeded instances kept as their index only
	running   map[string][]int // per task: lone running instances kept as their index only
	foldable  map[string][]int // per task: what job.PlanFolds folds
	lastEnded time.Time
	attempts  int
}

// NewReduction starts the reduction of j's attempts.
func NewReduction(j *job.Job) *Reduction {
	return &Reduction{j: j, plain: map[string][]int{}, running: map[string][]int{}, foldable: map[string][]int{}}
}

// Add takes a page of the job's attempts holding every attempt of each of
// its instances (as store.ScanAttempts hands them over); the page may be
// reused afterwards.
func (r *Reduction) Add(page []job.Attempt) {
	sorted := true
	for i := 1; i < len(page) && sorted; i++ {
		sorted = !attemptLess(&page[i], &page[i-1])
	}
	if !sorted {
		page = append([]job.Attempt(nil), page...)
		sort.Slice(page, func(a, b int) bool { return attemptLess(&page[a], &page[b]) })
	}
	for len(page) > 0 {
		n := 1
		for n < len(page) && page[n].Task == page[0].Task && page[n].Index == page[0].Index {
			n++
		}
		r.instance(page[:n])
		page = page[n:]
	}
}

func attemptLess(a, b *job.Attempt) bool {
	if a.Task != b.Task {
		return a.Task < b.Task
	}
	if a.Index != b.Index {
		return a.Index < b.Index
	}
	return a.Attempt < b.Attempt
}

// instance reduces the attempts of one instance.
func (r *Reduction) instance(as []job.Attempt) {
	r.attempts += len(as)
	for i := range as {
		if as[i].Ended.After(r.lastEnded) {
			r.lastEnded = as[i].Ended
		}
	}
	a := &as[0]
	t := r.j.Task(a.Task)
	if len(as) == 1 && t != nil && a.Index < t.Instances && a.Attempt == 0 && succeededDone(a) {
		r.foldable[a.Task] = append(r.foldable[a.Task], a.Index) // job.PlanFolds' rule
	}
	if len(as) == 1 && r.plainSuccess(t, a) {
		r.plain[a.Task] = append(r.plain[a.Task], a.Index)
		return
	}
	if len(as) == 1 && loneRunning(t, a) {
		r.running[a.Task] = append(r.running[a.Task], a.Index)
		return
	}
	r.kept = append(r.kept, as...)
}

// loneRunning: an instance's only attempt a derives as nothing but one
// running instance of t: it launches or runs, has no verdict, outputs or
// artifacts, and belongs to a task whose instance count is its spec's.
// Whatever the job record says (a kill, a retry), such an instance counts
// as running and nothing else of it is read (job.InstanceState, Derive).
func loneRunning(t *job.TaskSpec, a *job.Attempt) bool {
	if t == nil || a.Index < 0 || a.Index >= t.Instances || (t.WithParam != "" && t.WithItems == nil) {
		return false
	}
	return (a.State == job.AttemptLaunching || a.State == job.AttemptRunning) &&
		a.Verdict == "" && len(a.Outputs) == 0 && len(a.Artifacts) == 0
}

func succeededDone(a *job.Attempt) bool {
	return a.State == job.AttemptSucceeded && (a.Verdict == "" || a.Verdict == job.VerdictDone)
}

// plainSuccess: the instance's only attempt a derives as nothing but one
// succeeded instance of t, as a folded index does: it succeeded with the
// verdict done (also as the job's retry sees it), left no outputs, and
// belongs to a task whose instance count is its spec's (not a fan-out's,
// known from outputs only at the end).
func (r *Reduction) plainSuccess(t *job.TaskSpec, a *job.Attempt) bool {
	if t == nil || a.Index < 0 || a.Index >= t.Instances || (t.WithParam != "" && t.WithItems == nil) {
		return false
	}
	if len(a.Outputs) > 0 || !succeededDone(a) {
		return false
	}
	v := RetryView(r.j, []job.Attempt{*a})[0]
	return succeededDone(&v)
}

// Kept is the records kept, sorted: every attempt of the instances that
// are neither plain successes nor lone running ones (every failed, killed
// or lost attempt among them). The slice is the Reduction's own.
func (r *Reduction) Kept() []job.Attempt {
	r.sortKept()
	return r.kept
}

func (r *Reduction) sortKept() {
	sort.SliceStable(r.kept, func(a, b int) bool { return attemptLess(&r.kept[a], &r.kept[b]) })
}

// Attempts is how many attempt records were added.
func (r *Reduction) Attempts() int { return r.attempts }

// LastEnded is the latest end of an added attempt (zero if none ended).
func (r *Reduction) LastEnded() time.Time { return r.lastEnded }

// Status is Derive(j, every attempt added), the attempts in the stores'
// order (by task, index and attempt: the first failJob names the reason).
func (r *Reduction) Status() job.Status {
	r.sortKept()
	if len(r.plain) == 0 {
		return derive(r.j, r.kept, r.running)
	}
	c := *r.j
	c.Folded = withPlain(r.j.Folded, r.plain)
	return derive(&c, r.kept, r.running)
}

// withPlain adds the plain instances' indexes to the folds as ranges of
// their own (an index folded already is counted by its fold).
func withPlain(folded job.Folds, plain map[string][]int) job.Folds {
	out := make(job.Folds, len(folded)+len(plain))
	for task, rs := range folded {
		out[task] = rs
	}
	for task, idx := range plain {
		var add []int
		for _, i := range idx {
			if !folded.Has(task, i) {
				add = append(add, i)
			}
		}
		if len(add) == 0 {
			continue
		}
		rs := append(append([]job.Range(nil), folded[task]...), ranges(add)...)
		sort.Slice(rs, func(a, b int) bool { return rs[a].From < rs[b].From })
		out[task] = rs
	}
	return out
}

// Folds is job.PlanFolds(&j.Spec, every attempt added).
func (r *Reduction) Folds() job.Folds {
	out := job.Folds{}
	for _, t := range r.j.Spec.Tasks {
		if idx := r.foldable[t.Name]; len(idx) > 0 {
			out[t.Name] = ranges(idx)
		}
	}
	return out
}

// ranges sorts idx (distinct indexes) and joins neighbours into ranges.
func ranges(idx []int) []job.Range {
	sort.Ints(idx)
	var rs []job.Range
	for _, i := range idx {
		if n := len(rs); n > 0 && rs[n-1].To == i {
			rs[n-1].To++
		} else {
			rs = append(rs, job.Range{From: i, To: i + 1})
		}
	}
	return rs
}
