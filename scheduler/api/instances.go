package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// InstancePage is the body of GET /v1/jobs/{id}/instances: one page of
// the job's instances in the order failed, running, pending, then the
// rest (each by task, then index), and Total, how many match in all.
type InstancePage struct {
	Total     int        `json:"total"`
	Offset    int        `json:"offset"`
	Limit     int        `json:"limit"`
	Instances []Instance `json:"instances"`
}

// Bounds of a page of instances.
const (
	DefaultInstanceLimit = 100
	MaxInstanceLimit     = 1000
)

// InstanceQuery selects a page of a job's instances: Task "" means every
// task, States nil every state.
type InstanceQuery struct {
	Task          string
	States        []job.State
	Offset, Limit int
}

// instanceStates are the states an instance can be in, as a filter takes them.
var instanceStates = []job.State{job.Failed, job.Running, job.Pending, job.Succeeded, job.Killed}

// ParseInstanceQuery reads task, state (comma-separated and/or repeated),
// offset and limit from a query string; an error names the bad field.
func ParseInstanceQuery(q map[string][]string) (InstanceQuery, *Error) {
	out := InstanceQuery{Limit: DefaultInstanceLimit}
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	out.Task = get("task")
	seen := map[job.State]bool{}
	for _, v := range q["state"] {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			st := job.State(s)
			ok := false
			for _, known := range instanceStates {
				ok = ok || known == st
			}
			if !ok {
				return out, &Error{Error: fmt.Sprintf("state %q is not an instance state (failed, running, pending, succeeded, killed)", s), Field: "state"}
			}
			if !seen[st] {
				seen[st] = true
				out.States = append(out.States, st)
			}
		}
	}
	if s := get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return out, &Error{Error: fmt.Sprintf("offset %q is not a non-negative integer", s), Field: "offset"}
		}
		out.Offset = n
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxInstanceLimit {
			return out, &Error{Error: fmt.Sprintf("limit %q is not an integer from 1 to %d", s, MaxInstanceLimit), Field: "limit"}
		}
		out.Limit = n
	}
	return out, nil
}

// InstanceRef is one instance of a page: where it is, its state and its
// attempts (none for an instance that never ran or was folded).
type InstanceRef struct {
	Task     string
	Index    int
	State    job.State
	Attempts []job.Attempt
}

// rank orders states in a page: failed first, then running, pending, the rest.
func rank(s job.State) int {
	switch s {
	case job.Failed:
		return 0
	case job.Running:
		return 1
	case job.Pending:
		return 2
	}
	return 3
}

const ranks = 4

// taskInstances is one task's instances as the attempts make them.
type taskInstances struct {
	spec    *job.TaskSpec
	byIndex map[int][]job.Attempt
	touched []int // indexes with attempt records, ascending
}

// stateOf derives instance i's state as job.Derive counts it.
func (t *taskInstances) stateOf(j *job.Job, i int) job.State {
	if as := t.byIndex[i]; len(as) > 0 {
		return job.InstanceState(as, t.spec.Retries, j.KillRequested)
	}
	if j.Folded.Has(t.spec.Name, i) {
		return job.Succeeded
	}
	if j.KillRequested {
		return job.Killed
	}
	return job.Pending
}

// PageInstances selects the page q asks for from job j and its attempts
// (any order) and counts every instance matching. An instance that never
// ran costs no memory: a segment is walked only when the page falls in
// it. q.Task must name a task of j (or be ""). Pure.
func PageInstances(j *job.Job, attempts []job.Attempt, q InstanceQuery) (total int, page []InstanceRef) {
	want := func(s job.State) bool {
		if len(q.States) == 0 {
			return true
		}
		for _, w := range q.States {
			if w == s {
				return true
			}
		}
		return false
	}
	var tasks []*taskInstances
	byName := map[string]*taskInstances{}
	for i := range j.Spec.Tasks {
		t := &j.Spec.Tasks[i]
		if q.Task != "" && t.Name != q.Task {
			continue
		}
		ti := &taskInstances{spec: t, byIndex: map[int][]job.Attempt{}}
		tasks = append(tasks, ti)
		byName[t.Name] = ti
	}
	for _, a := range attempts {
		ti := byName[a.Task]
		if ti == nil || a.Index < 0 || a.Index >= ti.spec.Instances {
			continue
		}
		if len(ti.byIndex[a.Index]) == 0 {
			ti.touched = append(ti.touched, a.Index)
		}
		ti.byIndex[a.Index] = append(ti.byIndex[a.Index], a)
	}
	// count[t][r]: how many wanted instances of task t have rank r.
	count := make([][ranks]int, len(tasks))
	for ti, t := range tasks {
		sort.Ints(t.touched)
		for _, i := range t.touched {
			if s := t.stateOf(j, i); want(s) {
				count[ti][rank(s)]++
			}
		}
		folded := 0
		for _, r := range j.Folded[t.spec.Name] {
			folded += max(0, min(r.To, t.spec.Instances)-r.From)
		}
		for _, i := range t.touched {
			if j.Folded.Has(t.spec.Name, i) {
				folded--
			}
		}
		if want(job.Succeeded) {
			count[ti][rank(job.Succeeded)] += folded
		}
		untouched := t.spec.Instances - len(t.touched) - folded
		rest := job.Pending
		if j.KillRequested {
			rest = job.Killed
		}
		if want(rest) {
			count[ti][rank(rest)] += untouched
		}
		for r := range ranks {
			total += count[ti][r]
		}
	}
	skip := q.Offset
	for r := range ranks {
		for ti, t := range tasks {
			c := count[ti][r]
			if skip >= c {
				skip -= c
				continue
			}
			// Failed and running instances always have records: walk
			// those; the other ranks may hold instances without any.
			visit := func(i int) bool {
				s := t.stateOf(j, i)
				if rank(s) != r || !want(s) {
					return true
				}
				if skip > 0 {
					skip--
					return true
				}
				page = append(page, InstanceRef{Task: t.spec.Name, Index: i, State: s, Attempts: t.byIndex[i]})
				return len(page) < q.Limit
			}
			if r < rank(job.Pending) {
				for _, i := range t.touched {
					if !visit(i) {
						return total, page
					}
				}
				continue
			}
			for i := range t.spec.Instances {
				if !visit(i) {
					return total, page
				}
			}
		}
	}
	return total, page
}

// attemptViews shows attempts as the API does, oldest first.
// storeURL is the artifact store's, for the artifacts' URLs.
func attemptViews(jobID string, as []job.Attempt, storeURL string) []AttemptView {
	sorted := append([]job.Attempt(nil), as...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Attempt < sorted[b].Attempt })
	out := make([]AttemptView, 0, len(sorted))
	for _, a := range sorted {
		v := AttemptView{TaskID: a.TaskID(), Attempt: a.Attempt, State: a.State, AgentID: a.AgentID, Hostname: a.Hostname,
			ExitCode: a.ExitCode, Reason: a.Reason, Message: a.Message, Created: a.Created, Signal: a.Signal, Verdict: a.Verdict, Outputs: a.Outputs,
			Artifacts: artifactViews(jobID, a.Artifacts, storeURL)}
		if !a.NotBefore.IsZero() {
			v.NotBefore = &a.NotBefore
		}
		if !a.Started.IsZero() {
			v.Started = &a.Started
		}
		if !a.Ended.IsZero() {
			v.Ended = &a.Ended
		}
		out = append(out, v)
	}
	return out
}

// instances serves GET /v1/jobs/{id}/instances?task=&state=&offset=&limit=.
func (s *server) instances(w http.ResponseWriter, r *http.Request) {
	q, qerr := ParseInstanceQuery(r.URL.Query())
	if qerr != nil {
		writeErr(w, http.StatusBadRequest, *qerr)
		return
	}
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	j, err := s.b.Store().GetJob(ctx, id)
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	if q.Task != "" && j.Task(q.Task) == nil {
		writeErr(w, http.StatusNotFound, Error{Error: fmt.Sprintf("job %s has no task %q", id, q.Task), Field: "task"})
		return
	}
	as, err := s.b.Store().Attempts(ctx, id)
	if err != nil {
		s.backendErr(w, r, err)
		return
	}
	total, page := PageInstances(j, as, q)
	out := InstancePage{Total: total, Offset: q.Offset, Limit: q.Limit, Instances: make([]Instance, 0, len(page))}
	for _, in := range page {
		out.Instances = append(out.Instances, Instance{Job: id, Task: in.Task, Index: in.Index, State: in.State, Attempts: attemptViews(id, in.Attempts, s.cfg.ArtifactStoreURL)})
	}
	writeJSON(w, http.StatusOK, out)
}
