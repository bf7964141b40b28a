package e2e

import (
	"sort"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/node"
)

// bstatus derives a job's status as the API does (with the DAG).
func bstatus(t testing.TB, n *node.Node, id string) (job.Status, []job.Attempt) {
	t.Helper()
	return derivedStatus(t, n, id, jobstatus.Derive)
}

func waitBatch(t testing.TB, n *node.Node, id string, limit time.Duration) (job.Status, []job.Attempt) {
	t.Helper()
	return waitDerived(t, n, id, limit, jobstatus.Derive)
}

func taskStatus(st job.Status, name string) job.TaskStatus {
	for _, ts := range st.Tasks {
		if ts.Name == name {
			return ts
		}
	}
	return job.TaskStatus{}
}

// byTask groups attempts per task, oldest attempt first.
func byTask(as []job.Attempt) map[string][]job.Attempt {
	m := map[string][]job.Attempt{}
	for _, a := range as {
		m[a.Task] = append(m[a.Task], a)
	}
	for _, l := range m {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Index != l[j].Index {
				return l[i].Index < l[j].Index
			}
			return l[i].Attempt < l[j].Attempt
		})
	}
	return m
}

// maxOverlap is the most attempts alive at once, each from its creation
// (the launch was decided) to its end.
func maxOverlap(as []job.Attempt) int {
	type ev struct {
		t time.Time
		d int
	}
	var evs []ev
	for _, a := range as {
		evs = append(evs, ev{a.Created, 1}, ev{a.Ended, -1})
	}
	sort.Slice(evs, func(i, j int) bool {
		if !evs[i].t.Equal(evs[j].t) {
			return evs[i].t.Before(evs[j].t)
		}
		return evs[i].d < evs[j].d
	})
	cur, best := 0, 0
	for _, e := range evs {
		cur += e.d
		best = max(best, cur)
	}
	return best
}
