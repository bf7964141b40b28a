package job

import "testing"

func att(n int, s AttemptState) Attempt { return Attempt{Job: "j", Task: "t", Attempt: n, State: s} }

func TestInstanceState(t *testing.T) {
	cases := []struct {
		name    string
		as      []Attempt
		retries int
		kill    bool
		want    State
	}{
		{"no attempts", nil, 3, false, Pending},
		{"no attempts killed", nil, 3, true, Killed},
		{"launching", []Attempt{att(0, AttemptLaunching)}, 3, false, Running},
		{"running", []Attempt{att(0, AttemptRunning)}, 3, false, Running},
		{"succeeded", []Attempt{att(0, AttemptSucceeded)}, 3, false, Succeeded},
		{"failed once with retries left", []Attempt{att(0, AttemptFailed)}, 3, false, Pending},
		{"failed with no retries", []Attempt{att(0, AttemptFailed)}, 0, false, Failed},
		{"failed 4 times of retries 3", []Attempt{att(0, AttemptFailed), att(1, AttemptFailed), att(2, AttemptFailed), att(3, AttemptFailed)}, 3, false, Failed},
		{"failed 3 times of retries 3", []Attempt{att(0, AttemptFailed), att(1, AttemptFailed), att(2, AttemptFailed)}, 3, false, Pending},
		{"lost never counts", []Attempt{att(0, AttemptLost), att(1, AttemptLost), att(2, AttemptLost)}, 0, false, Pending},
		{"order independent", []Attempt{att(2, AttemptSucceeded), att(0, AttemptFailed), att(1, AttemptLost)}, 0, false, Succeeded},
		{"latest wins over earlier success", []Attempt{att(0, AttemptSucceeded), att(1, AttemptRunning)}, 0, false, Running},
		{"killed by request", []Attempt{att(0, AttemptKilled)}, 0, true, Killed},
		{"killed without request counts as failure", []Attempt{att(0, AttemptKilled)}, 0, false, Failed},
		{"kill requested while running stays running", []Attempt{att(0, AttemptRunning)}, 0, true, Running},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := InstanceState(c.as, c.retries, c.kill); got != c.want {
				t.Fatalf("InstanceState = %s, want %s", got, c.want)
			}
		})
	}
}

func TestTaskAndJobState(t *testing.T) {
	cases := []struct {
		c    Counts
		n    int
		want State
	}{
		{Counts{Pending: 3}, 3, Pending},
		{Counts{Pending: 2, Running: 1}, 3, Running},
		{Counts{Pending: 2, Succeeded: 1}, 3, Running},
		{Counts{Succeeded: 3}, 3, Succeeded},
		{Counts{Succeeded: 2, Failed: 1}, 3, Failed},
		{Counts{Running: 1, Failed: 1, Succeeded: 1}, 3, Running},
		{Counts{Killed: 2, Succeeded: 1}, 3, Killed},
	}
	for _, c := range cases {
		if got := TaskState(c.c, c.n); got != c.want {
			t.Errorf("TaskState(%+v, %d) = %s, want %s", c.c, c.n, got, c.want)
		}
	}
	jcases := []struct {
		ts   []State
		kill bool
		want State
	}{
		{[]State{Pending, Pending}, false, Pending},
		{[]State{Succeeded, Pending}, false, Running},
		{[]State{Succeeded, Running}, false, Running},
		{[]State{Succeeded, Succeeded}, false, Succeeded},
		{[]State{Failed, Pending}, false, Failed},
		{[]State{Failed, Running}, false, Running},
		{[]State{Killed, Pending}, true, Killed},
		{[]State{Succeeded, Succeeded}, true, Succeeded},
	}
	for _, c := range jcases {
		if got := JobState(c.ts, c.kill); got != c.want {
			t.Errorf("JobState(%v, %v) = %s, want %s", c.ts, c.kill, got, c.want)
		}
	}
}

func TestDerive(t *testing.T) {
	j := &Job{ID: "etl-1", Spec: Spec{Name: "etl", Tasks: []TaskSpec{
		{Name: "extract", Instances: 10, Retries: 1},
		{Name: "load", Instances: 1, Retries: 0, Depends: []string{"extract"}},
	}}}
	var as []Attempt
	for i := 0; i < 10; i++ {
		as = append(as, Attempt{Job: "etl-1", Task: "extract", Index: i, State: AttemptSucceeded})
	}
	as = append(as, Attempt{Job: "etl-1", Task: "extract", Index: 3, Attempt: 1, State: AttemptRunning})
	st := Tally(j, as)
	if st.State != Running || st.Tasks[0].Counts.Succeeded != 9 || st.Tasks[0].Counts.Running != 1 || st.Tasks[1].Counts.Pending != 1 {
		t.Fatalf("Derive = %+v", st)
	}
	as[len(as)-1].State = AttemptSucceeded
	as = append(as, Attempt{Job: "etl-1", Task: "load", Index: 0, State: AttemptFailed})
	st = Tally(j, as)
	if st.State != Failed || st.Tasks[0].State != Succeeded || st.Tasks[1].State != Failed {
		t.Fatalf("Derive = %+v", st)
	}
	j.KillRequested = true
	st = Tally(j, nil)
	if st.State != Killed || st.Tasks[0].Counts.Killed != 10 {
		t.Fatalf("Derive killed = %+v", st)
	}
}

func TestTaskIDRoundTrip(t *testing.T) {
	id := TaskID("etl-nightly-1a2b", "extract", 7, 2)
	if id != "etl-nightly-1a2b.extract.7.2" {
		t.Fatalf("TaskID = %q", id)
	}
	j, tk, i, a, err := ParseTaskID(id)
	if err != nil || j != "etl-nightly-1a2b" || tk != "extract" || i != 7 || a != 2 {
		t.Fatalf("ParseTaskID = %q %q %d %d %v", j, tk, i, a, err)
	}
	for _, bad := range []string{"a.b.c", "a.b.x.1", "a.b.1.-1", "a.b.1.2.3"} {
		if _, _, _, _, err := ParseTaskID(bad); err == nil {
			t.Errorf("ParseTaskID(%q) accepted", bad)
		}
	}
}
