package chaos

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestParseRunLog(t *testing.T) {
	got, err := ParseRunLog(strings.NewReader("j-1/run/0/0\nj-1/run/12/3\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Start{{"j-1", "run", 0, 0}, {"j-1", "run", 12, 3}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"j/run/0\n", "j/run/x/0\n", "j/run/0/-1\n", "/run/0/0\n", "j/run/0/0/9\n"} {
		if _, err := ParseRunLog(strings.NewReader("j/run/1/0\n" + bad)); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseRunLog(%q): %v, want an error naming line 2", bad, err)
		}
	}
}

func TestCheck(t *testing.T) {
	k := InstanceKey{"j-1", "run", 0}
	inst := func(st job.State, as ...Attempt) Instance { return Instance{Key: k, State: st, Attempts: as} }
	a := func(n int, st job.AttemptState) Attempt { return Attempt{Attempt: n, State: st} }
	start := func(n int) Start { return Start{"j-1", "run", 0, n} }
	cases := []struct {
		name      string
		inst      []Instance
		starts    []Start
		master    []MasterTask
		lost, dup int
		problem   string // a substring of the problems, "" for none
	}{
		{name: "one attempt, ran once",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))}, starts: []Start{start(0)},
			master: []MasterTask{{"j-1.run.0.0", "TASK_FINISHED"}}},
		{name: "folded instance, ran once",
			inst: []Instance{{Key: k, State: job.Succeeded, Folded: true}}, starts: []Start{start(0)},
			master: []MasterTask{{"j-1.run.0.0", "TASK_FINISHED"}}},
		{name: "lost attempt ran unseen, the retry ran too",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptLost), a(1, job.AttemptSucceeded))}, starts: []Start{start(0), start(1)}},
		{name: "failed then killed then succeeded",
			inst:   []Instance{inst(job.Succeeded, a(0, job.AttemptFailed), a(1, job.AttemptKilled), a(2, job.AttemptSucceeded))},
			starts: []Start{start(2), start(0), start(1)}},
		{name: "lost before it started",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptLost), a(1, job.AttemptSucceeded))}, starts: []Start{start(1)}},
		{name: "never ran",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))}, lost: 1, problem: "never started the command"},
		{name: "folded but never ran",
			inst: []Instance{{Key: k, State: job.Succeeded, Folded: true}}, lost: 1, problem: "attempt 0 succeeded but never started"},
		{name: "instance failed",
			inst: []Instance{inst(job.Failed, a(0, job.AttemptFailed))}, starts: []Start{start(0)}, lost: 1, problem: "instance is failed"},
		{name: "instance still pending",
			inst: []Instance{inst(job.Pending)}, lost: 1, problem: "instance is pending"},
		{name: "same attempt started twice",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))}, starts: []Start{start(0), start(0)}, dup: 1, problem: "attempt 0 started the command twice"},
		{name: "second attempt after a success",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded), a(1, job.AttemptSucceeded))}, starts: []Start{start(0), start(1)},
			dup: 1, problem: "attempt 1 started while attempt 0, which also started, is succeeded"},
		{name: "retry while the first still runs",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptRunning), a(1, job.AttemptSucceeded))}, starts: []Start{start(0), start(1)},
			dup: 1, problem: "is running"},
		{name: "an attempt the API does not know",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))}, starts: []Start{start(0), start(7)}, dup: 1, problem: "does not record it"},
		{name: "an instance the API does not know",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))}, starts: []Start{start(0), {"j-9", "run", 0, 0}}, dup: 1, problem: "no such instance"},
		{name: "master finished a task the API calls lost",
			inst:   []Instance{inst(job.Succeeded, a(0, job.AttemptLost), a(1, job.AttemptSucceeded))},
			starts: []Start{start(0), start(1)}, master: []MasterTask{{"j-1.run.0.0", "TASK_FINISHED"}, {"j-1.run.0.1", "TASK_FINISHED"}}},
		{name: "master finished a task the API calls failed",
			inst:   []Instance{inst(job.Succeeded, a(0, job.AttemptFailed), a(1, job.AttemptSucceeded))},
			starts: []Start{start(0), start(1)}, master: []MasterTask{{"j-1.run.0.0", "TASK_FINISHED"}}, problem: `records attempt 0 of j-1/run/0 as "failed"`},
		{name: "master finished an attempt the API does not know",
			inst:   []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))},
			starts: []Start{start(0)}, master: []MasterTask{{"j-1.run.0.3", "TASK_FINISHED"}}, problem: `records attempt 3 of j-1/run/0 as ""`},
		{name: "master still runs a task",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))}, starts: []Start{start(0)},
			master: []MasterTask{{"j-1.run.0.1", "TASK_RUNNING"}}, problem: "still TASK_RUNNING"},
		{name: "master task that is not Gleaner's",
			inst: []Instance{inst(job.Succeeded, a(0, job.AttemptSucceeded))}, starts: []Start{start(0)},
			master: []MasterTask{{"other", "TASK_FINISHED"}}, problem: "master task other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Check(c.inst, c.starts, c.master)
			all := strings.Join(v.Problems, "\n")
			if v.Lost != c.lost || v.Duplicate != c.dup || v.Instances != len(c.inst) {
				t.Errorf("lost %d duplicate %d instances %d, want %d %d %d; problems:\n%s", v.Lost, v.Duplicate, v.Instances, c.lost, c.dup, len(c.inst), all)
			}
			if c.problem == "" && !v.OK() || c.problem != "" && (v.OK() || !strings.Contains(all, c.problem)) {
				t.Errorf("problems %q, want %q", all, c.problem)
			}
		})
	}
}
