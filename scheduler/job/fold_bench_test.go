package job

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkFold1M measures etcd's share of a succeeded 1,000,000-instance
// task whose 100 scattered instances needed a retry: keys and bytes of the
// records before folding (a job record plus one per attempt) and after
// (the job record with its ranges plus the retried instances' records).
func BenchmarkFold1M(b *testing.B) {
	const n, retried = 1_000_000, 100
	s := &Spec{Name: "huge", Tasks: []TaskSpec{{Name: "t", Command: "true", Instances: n, Retries: 3, Resources: Resources{CPUs: 0.1, Mem: 16}}}}
	t0 := time.Unix(1_800_000_000, 0).UTC()
	code := 1
	as := make([]Attempt, 0, n+retried)
	for i := 0; i < n; i++ {
		a := Attempt{Job: "huge-1", Task: "t", Index: i, State: AttemptSucceeded, Verdict: VerdictDone, AgentID: "agent-7", Hostname: "host-7",
			MesosState: "TASK_FINISHED", Created: t0, Started: t0, Ended: t0}
		if i%(n/retried) == 0 {
			f := a
			f.State, f.Verdict, f.ExitCode, f.MesosState = AttemptFailed, VerdictAgain, &code, "TASK_FAILED"
			as = append(as, f)
			a.Attempt = 1
		}
		as = append(as, a)
	}
	size := func(v any) int {
		bs, _ := json.Marshal(v)
		return len(bs)
	}
	j := &Job{ID: "huge-1", Spec: *s, Submitted: t0}
	jobBytes := size(j)
	attemptBytes := size(&as[1]) // a representative record
	var keysAfter, bytesAfter int
	for i := 0; i < b.N; i++ {
		f := PlanFolds(s, as)
		j.Folded = f
		keysAfter, bytesAfter = 1, size(j)
		for k := range as {
			if !f.Has(as[k].Task, as[k].Index) {
				keysAfter++
				bytesAfter += size(&as[k])
			}
		}
		if st := Tally(j, as[:0]); st.Tasks[0].Counts.Succeeded != n-retried {
			b.Fatalf("folded successes %d", st.Tasks[0].Counts.Succeeded)
		}
	}
	b.ReportMetric(float64(1+len(as)), "keys-before")
	b.ReportMetric(float64(jobBytes+len(as)*attemptBytes), "bytes-before")
	b.ReportMetric(float64(keysAfter), "keys-after")
	b.ReportMetric(float64(bytesAfter), "bytes-after")
}
