package jobstatus

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// change is one stored change: a put of an attempt record, or the delete of
// the record of a task, index and attempt.
type change struct {
	del bool
	a   job.Attempt
}

// A Live built from a scan of the records after some changes, then fed the
// rest one change at a time (puts that overwrite, new attempts, deletes),
// answers as a Reduction over the records stored at the end: the same
// status, kept records, folds and count (and last end when nothing was
// deleted). Where it cannot follow (a new attempt of a plain success) it
// says so, and a scan from there on answers right again.
func TestLiveFollowsAsAReduction(t *testing.T) {
	rng := rand.New(rand.NewSource(61))
	followed, rescans := 0, 0
	for n := range 600 {
		c := randomCase(rng, n)
		history := randomHistory(rng, c.as)
		cut := rng.Intn(len(history) + 1)
		stored := map[instance]map[int]job.Attempt{}
		apply := func(ch change) {
			k := instance{ch.a.Task, ch.a.Index}
			if ch.del {
				delete(stored[k], ch.a.Attempt)
				return
			}
			if stored[k] == nil {
				stored[k] = map[int]job.Attempt{}
			}
			stored[k][ch.a.Attempt] = ch.a
		}
		for _, ch := range history[:cut] {
			apply(ch)
		}
		l := NewLive(c.j)
		for _, page := range instancePages(records(stored), 1+rng.Intn(4)) {
			l.Add(page)
		}
		deleted := false
		for _, ch := range history[cut:] {
			apply(ch)
			if ch.del {
				l.Delete(ch.a.Task, ch.a.Index, ch.a.Attempt)
				deleted = true
				continue
			}
			if !l.Put(ch.a) {
				rescans++
				l = NewLive(c.j)
				l.Add(records(stored))
				deleted = false
			}
			followed++
		}
		final := records(stored)
		r := NewReduction(c.j)
		r.Add(final)
		name := fmt.Sprintf("%s (%d changes, scan after %d)", c.name, len(history), cut)
		if got, want := l.Status(), r.Status(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: status\n%+v\nwant\n%+v", name, got, want)
		}
		if got, want := l.Kept(), r.Kept(); !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Fatalf("%s: kept\n%+v\nwant\n%+v", name, got, want)
		}
		if got, want := l.Folds(), r.Folds(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: folds %v, want %v", name, got, want)
		}
		if l.Attempts() != r.Attempts() {
			t.Fatalf("%s: %d attempts, want %d", name, l.Attempts(), r.Attempts())
		}
		if !deleted && !l.LastEnded().Equal(r.LastEnded()) {
			t.Fatalf("%s: last ended %v, want %v", name, l.LastEnded(), r.LastEnded())
		}
	}
	if followed < 1000 || rescans*10 > followed {
		t.Fatalf("%d changes followed, %d rescans: the histories do not exercise following", followed, rescans)
	}
}

// randomHistory writes as a scheduler does, in a random interleaving of
// instances: each attempt first launching, then its final record; some
// records are deleted again (a fold, a history limit) or rewritten.
func randomHistory(rng *rand.Rand, as []job.Attempt) []change {
	var perInstance [][]change
	for i := 0; i < len(as); {
		n := 1
		for i+n < len(as) && as[i+n].Task == as[i].Task && as[i+n].Index == as[i].Index {
			n++
		}
		var chs []change
		for _, a := range as[i : i+n] {
			launching := a
			launching.State, launching.Verdict, launching.Ended, launching.Outputs = job.AttemptLaunching, "", time.Time{}, nil
			chs = append(chs, change{a: launching}, change{a: a})
			if rng.Intn(8) == 0 {
				chs = append(chs, change{del: true, a: job.Attempt{Task: a.Task, Index: a.Index, Attempt: a.Attempt}})
				if rng.Intn(2) == 0 {
					chs = append(chs, change{a: a}) // written again
				}
			}
		}
		perInstance = append(perInstance, chs)
		i += n
	}
	var out []change
	for len(perInstance) > 0 {
		p := rng.Intn(len(perInstance))
		out = append(out, perInstance[p][0])
		if perInstance[p] = perInstance[p][1:]; len(perInstance[p]) == 0 {
			perInstance = append(perInstance[:p], perInstance[p+1:]...)
		}
	}
	return out
}

// records is what is stored, sorted as the stores read it.
func records(stored map[instance]map[int]job.Attempt) []job.Attempt {
	var out []job.Attempt
	for _, byNumber := range stored {
		for _, a := range byNumber {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(a, b int) bool { return attemptLess(&out[a], &out[b]) })
	return out
}

// A Live keeps a big array as bits while it runs and once it succeeded;
// an instance that fails is kept as its records.
func TestLiveKeepsNoRecordOfPlainSuccesses(t *testing.T) {
	j := &job.Job{ID: "big", Spec: job.Spec{Name: "big", Tasks: []job.TaskSpec{{Name: "work", Command: "true", Instances: 1000}}}}
	l := NewLive(j)
	for i := range 1000 {
		l.Put(job.Attempt{Job: "big", Task: "work", Index: i, State: job.AttemptRunning})
	}
	if st := l.Status(); len(l.kept) != 0 || st.State != job.Running || st.Tasks[0].Counts != (job.Counts{Running: 1000}) {
		t.Fatalf("%d records kept, state %s %+v; want none, running, 1000 running", len(l.kept), st.State, st.Tasks[0].Counts)
	}
	failed := job.Attempt{Job: "big", Task: "work", Index: 7, State: job.AttemptFailed, Verdict: job.VerdictAgain}
	if !l.Put(failed) || len(l.kept) != 1 {
		t.Fatalf("a failed attempt: %d records kept, want its one", len(l.kept))
	}
	if l.Put(job.Attempt{Job: "big", Task: "work", Index: 8, Attempt: 1, State: job.AttemptLaunching}) {
		t.Fatal("a new attempt of an instance kept as a bit was followed; want a rescan asked for")
	}
	if l.Delete("work", 7, 0); len(l.kept) != 0 || l.Status().Tasks[0].Counts != (job.Counts{Running: 999, Pending: 1}) {
		t.Fatalf("the failed attempt deleted: %d records kept, counts %+v; want none, 999 running, 1 pending", len(l.kept), l.Status().Tasks[0].Counts)
	}
	for i := range 1000 {
		l.Put(job.Attempt{Job: "big", Task: "work", Index: i, State: job.AttemptSucceeded, Verdict: job.VerdictDone})
	}
	if len(l.kept) != 0 {
		t.Fatalf("%d records kept, want none", len(l.kept))
	}
	if st := l.Status(); st.State != job.Succeeded || st.Tasks[0].Counts != (job.Counts{Succeeded: 1000}) {
		t.Fatalf("status %s %+v, want succeeded, 1000 succeeded", st.State, st.Tasks[0].Counts)
	}
	if f := l.Folds(); !reflect.DeepEqual(f, job.Folds{"work": {{From: 0, To: 1000}}}) {
		t.Fatalf("folds %v, want all 1000", f)
	}
}
