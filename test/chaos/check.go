package chaos

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Start is one line of the run log: the instance's command started as this
// attempt. Tasks append "job/task/index/attempt\n" with O_APPEND (one write
// each, so lines never interleave).
type Start struct {
	Job     string
	Task    string
	Index   int
	Attempt int
}

// Key names the instance the start belongs to.
func (s Start) Key() InstanceKey { return InstanceKey{s.Job, s.Task, s.Index} }

// InstanceKey names one instance of a job's task.
type InstanceKey struct {
	Job   string
	Task  string
	Index int
}

func (k InstanceKey) String() string { return fmt.Sprintf("%s/%s/%d", k.Job, k.Task, k.Index) }

// ParseRunLog reads the run log; a malformed line is an error naming it.
func ParseRunLog(r io.Reader) ([]Start, error) {
	var out []Start
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Split(line, "/")
		if len(f) != 4 || f[0] == "" || f[1] == "" {
			return nil, fmt.Errorf("run log line %d %q: want job/task/index/attempt", n, line)
		}
		idx, err1 := strconv.Atoi(f[2])
		att, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || idx < 0 || att < 0 {
			return nil, fmt.Errorf("run log line %d %q: index and attempt must be non-negative integers", n, line)
		}
		out = append(out, Start{Job: f[0], Task: f[1], Index: idx, Attempt: att})
	}
	return out, sc.Err()
}

// Attempt is one attempt of an instance as the API reports it.
type Attempt struct {
	Attempt int
	State   job.AttemptState
}

// Instance is what the API reports for one instance at the end of the run.
// An instance folded away after its job succeeded reports no attempts; the
// fold means it succeeded at attempt 0, its only attempt, which is how
// Folded instances are checked.
type Instance struct {
	Key      InstanceKey
	State    job.State
	Attempts []Attempt
	Folded   bool
}

// MasterTask is a task as the Mesos master's state lists it.
type MasterTask struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// Verdict is the outcome of Check.
type Verdict struct {
	Instances int
	// Lost counts instances whose work did not happen: not succeeded, or
	// succeeded without the succeeded attempt ever starting the command.
	Lost int
	// Duplicate counts instances whose command ran twice (see Check).
	Duplicate int
	// Problems explains every lost and duplicate instance and any other
	// inconsistency (a master task unknown to the API, a task still active).
	Problems []string
}

// OK reports whether nothing was lost, nothing ran twice and nothing else
// was inconsistent.
func (v Verdict) OK() bool { return v.Lost == 0 && v.Duplicate == 0 && len(v.Problems) == 0 }

// ended reports whether an attempt state allows a later attempt to start
// the command again: the attempt failed, was killed, or was lost.
func ended(state job.AttemptState) bool {
	return state == job.AttemptFailed || state == job.AttemptKilled || state == job.AttemptLost
}

// Check judges a run from what the API reports for every instance, the run
// log and the master's tasks. Pure.
//
// The rule for "ran twice": a retry after a failure and a new attempt after a
// lost or killed one are allowed to start the command again (a lost attempt
// may even have run to its end unseen: that is what lost means). What is not
// allowed is
//   - one attempt starting the command twice (the same task relaunched),
//   - a start by an attempt the API does not record (work nobody tracks),
//   - a start by an attempt while an earlier attempt of the instance that
//     also started ended other than failed, killed or lost (i.e. it
//     succeeded, or never ended): two live copies of the work.
//
// An instance is lost when it did not succeed, or when the attempt the API
// says succeeded never started the command.
//
// From the master: every finished task must be an attempt the API records as
// succeeded, or as lost (the scheduler gave it up, e.g. its executor missed
// the re-registration window after an agent restart, and the command
// finished unseen: allowed by the rule above), and no task may still be
// active.
func Check(instances []Instance, starts []Start, master []MasterTask) Verdict {
	v := Verdict{Instances: len(instances)}
	byInst := map[InstanceKey][]int{}
	for _, s := range starts {
		byInst[s.Key()] = append(byInst[s.Key()], s.Attempt)
	}
	known := map[InstanceKey]Instance{}
	for _, in := range instances {
		known[in.Key] = in
		attempts := in.Attempts
		if in.Folded && len(attempts) == 0 {
			attempts = []Attempt{{Attempt: 0, State: job.AttemptSucceeded}}
		}
		state := map[int]job.AttemptState{}
		for _, a := range attempts {
			state[a.Attempt] = a.State
		}
		lost, dup := judgeInstance(in, attempts, state, byInst[in.Key])
		if lost != "" {
			v.Lost++
			v.Problems = append(v.Problems, in.Key.String()+": lost: "+lost)
		}
		if dup != "" {
			v.Duplicate++
			v.Problems = append(v.Problems, in.Key.String()+": ran twice: "+dup)
		}
	}
	var unknown []string
	for k := range byInst {
		if _, ok := known[k]; !ok {
			unknown = append(unknown, k.String())
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		v.Duplicate++
		v.Problems = append(v.Problems, k+": ran, but the API has no such instance")
	}
	v.Problems = append(v.Problems, checkMaster(master, known)...)
	return v
}

// judgeInstance returns why the instance is lost and why it ran twice ("" when
// it is not).
func judgeInstance(in Instance, attempts []Attempt, state map[int]job.AttemptState, started []int) (lost, dup string) {
	succeeded := -1
	for _, a := range attempts {
		if a.State == job.AttemptSucceeded {
			succeeded = a.Attempt
		}
	}
	startedSet := map[int]int{}
	for _, a := range started {
		startedSet[a]++
	}
	switch {
	case in.State != job.Succeeded:
		lost = "instance is " + string(in.State)
	case succeeded < 0:
		lost = "no attempt succeeded"
	case startedSet[succeeded] == 0:
		lost = fmt.Sprintf("attempt %d succeeded but never started the command", succeeded)
	}
	sorted := append([]int(nil), started...)
	sort.Ints(sorted)
	for i, a := range sorted {
		if i > 0 && sorted[i-1] == a {
			return lost, fmt.Sprintf("attempt %d started the command twice", a)
		}
		if _, ok := state[a]; !ok {
			return lost, fmt.Sprintf("attempt %d started the command but the API does not record it", a)
		}
	}
	for i := 1; i < len(sorted); i++ {
		if prev := state[sorted[i-1]]; !ended(prev) {
			return lost, fmt.Sprintf("attempt %d started while attempt %d, which also started, is %s", sorted[i], sorted[i-1], prev)
		}
	}
	return lost, ""
}

// checkMaster compares the master's tasks with the API's attempts.
func checkMaster(master []MasterTask, known map[InstanceKey]Instance) []string {
	var out []string
	for _, t := range master {
		switch t.State {
		case "TASK_FINISHED":
			jobID, task, index, attempt, err := job.ParseTaskID(t.ID)
			if err != nil {
				out = append(out, fmt.Sprintf("master task %s: %v", t.ID, err))
				continue
			}
			k := InstanceKey{jobID, task, index}
			in, ok := known[k]
			if !ok {
				out = append(out, fmt.Sprintf("master task %s finished; the API has no instance %s", t.ID, k))
				continue
			}
			if st := recordedState(in, attempt); st != job.AttemptSucceeded && st != job.AttemptLost {
				out = append(out, fmt.Sprintf("master task %s finished; the API records attempt %d of %s as %q, not succeeded or lost", t.ID, attempt, k, st))
			}
		case "TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING":
			out = append(out, fmt.Sprintf("master task %s still %s after every job ended", t.ID, t.State))
		}
	}
	return out
}

// recordedState is the state the API records for an attempt ("" when it
// records no such attempt).
func recordedState(in Instance, attempt int) job.AttemptState {
	if in.Folded && len(in.Attempts) == 0 && attempt == 0 {
		return job.AttemptSucceeded
	}
	for _, a := range in.Attempts {
		if a.Attempt == attempt {
			return a.State
		}
	}
	return ""
}
