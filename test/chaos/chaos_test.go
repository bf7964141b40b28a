package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/executor/cgroups"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

var longForm = flag.Bool("chaos.long", false, "run the long form of TestChaos (make chaos): Long instead of Short")

// taskSpec is one task of a submitted job, as the check needs it.
type taskSpec struct {
	name      string
	instances int
}

type submitted struct {
	id    string
	tasks []taskSpec
}

// TestChaos runs a whole installation — Debian's etcd, `gleaner mesos-local`
// with three agents, a leader and a standby `gleaner scheduler` with the
// Gleaner executor — submits array jobs and a DAG whose tasks append
// "job/task/index/attempt" to a run log on a volume, and while they run
// SIGKILLs the leader (restarting it as a standby), restarts single agents,
// restarts the whole local Mesos and restarts etcd. Then it checks through
// the API, the master's state and the run log that every job succeeded,
// nothing was lost and nothing ran twice (the rule is Check's), and prints
//
//	chaos: K leader kills, A agent restarts, M mesos restarts, E etcd restarts, N instances, 0 lost, 0 duplicate
//
// Short by default (make test); -chaos.long is make chaos.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, the local Mesos and two schedulers")
	}
	if os.Geteuid() != 0 {
		t.Skip("the Gleaner executor needs root (chroot, cgroups)")
	}
	if _, err := cgroups.Detect(cgroups.DefaultRoot); err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	if _, err := os.Stat(etcdtest.DebianBinary); err != nil {
		t.Skipf("%s not installed (Debian package etcd-server; deploy/install-deps.sh): %v", etcdtest.DebianBinary, err)
	}
	rootfstest.Require(t)
	plan := Short
	if *longForm {
		plan = Long
	}
	r := newRun(t, plan)
	r.start()
	jobs := r.submitJobs()
	r.injectFaults()
	r.awaitJobsEnd(jobs)
	v := r.check(jobs)
	line := fmt.Sprintf("chaos: %d leader kills, %d agent restarts, %d mesos restarts, %d etcd restarts, %d instances, %d lost, %d duplicate",
		r.done[LeaderKill], r.done[AgentRestart], r.done[MesosRestart], r.done[EtcdRestart], v.Instances, v.Lost, v.Duplicate)
	fmt.Println(line)
	t.Log(line)
	if !v.OK() {
		for i, p := range v.Problems {
			if i == 40 {
				t.Errorf("... and %d more", len(v.Problems)-i)
				break
			}
			t.Error(p)
		}
	}
	if v.Instances != plan.TotalInstances() {
		t.Errorf("checked %d instances, submitted %d", v.Instances, plan.TotalInstances())
	}
}

// run is one chaos run: its processes and what it did.
type run struct {
	t       *testing.T
	plan    Plan
	ctx     context.Context
	dir     string
	bin     string
	token   string
	bundle  string
	digest  string
	runDir  string
	starts  *lineCounter
	etcd    *etcdtest.Server
	mesos   *proc
	master  string
	control string
	ports   [2]int
	mu      sync.Mutex
	scheds  [2]*proc
	api     *client
	done    [4]int          // faults done, by kind
	outages []time.Duration // leader kill → a new leader subscribed
}

func newRun(t *testing.T, plan Plan) *run {
	ctx, cancel := context.WithTimeout(context.Background(), plan.Deadline+2*time.Minute)
	t.Cleanup(cancel)
	dir, err := os.MkdirTemp("", "gleaner-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	// Tasks run unprivileged: the directories they reach are open to them.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept the run's directory (logs, run log, etcd data): %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return &run{t: t, plan: plan, ctx: ctx, dir: dir}
}

func (r *run) fatal(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

// start brings up etcd, mesos-local and both schedulers, and waits for a
// subscribed leader.
func (r *run) start() {
	t := r.t
	r.bin = gleanerBinary(t, r.dir)
	r.bundle, r.digest = rootfstest.Bundle(t, filepath.Join(r.dir, "bundle"), nil)
	r.runDir = filepath.Join(r.dir, "runlog")
	r.fatal(os.Mkdir(r.runDir, 0o777))
	r.fatal(os.Chmod(r.runDir, 0o777))
	logPath := filepath.Join(r.runDir, "starts.log")
	r.fatal(os.WriteFile(logPath, nil, 0o666))
	r.fatal(os.Chmod(logPath, 0o666))
	r.starts = &lineCounter{path: logPath}

	etcdDir := filepath.Join(r.dir, "etcd")
	r.fatal(os.Mkdir(etcdDir, 0o700))
	etcd, err := etcdtest.Process(etcdtest.DebianBinary, etcdDir)
	r.fatal(err)
	r.etcd = etcd
	t.Cleanup(etcd.Stop)

	r.mesos, r.master, r.control, err = mesosLocal(r.bin, []string{"mesos-local", "--port", "0", "--agents", "3",
		"--resources", "cpus:4;mem:4096;disk:10240", "--work-dir", filepath.Join(r.dir, "mesos"),
		"--control-listen", "127.0.0.1:0", "--allocation-interval", "100ms", "--log-level", "warn"},
		[]string{"GLEANER_BUNDLE_CACHE=" + filepath.Join(r.dir, "bundle-cache")}, filepath.Join(r.dir, "mesos-local.log"))
	r.fatal(err)
	t.Cleanup(func() { r.mesos.kill(syscall.SIGTERM) })

	r.token = randomToken(t)
	r.fatal(os.WriteFile(filepath.Join(r.dir, "token"), []byte(r.token+"\n"), 0o600))
	var urls []string
	for i := range r.ports {
		r.ports[i] = freePort(t)
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", r.ports[i]))
	}
	r.api = newClient(r.token, urls...)
	for slot := range r.scheds {
		r.startScheduler(slot)
	}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, p := range r.scheds {
			p.kill(syscall.SIGTERM)
		}
	})
	_, err = r.awaitLeader(60 * time.Second)
	r.fatal(err)
}

// startScheduler starts (or restarts) the scheduler of a slot on its port.
func (r *run) startScheduler(slot int) {
	listen := fmt.Sprintf("127.0.0.1:%d", r.ports[slot])
	p, err := startProc(fmt.Sprintf("scheduler-%d", slot), r.bin, []string{"scheduler",
		"--master", r.master, "--etcd", r.etcd.Endpoints[0], "--etcd-prefix", "/chaos/",
		"--listen", listen, "--token-file", filepath.Join(r.dir, "token"),
		"--executor-path", r.bin, "--lease-ttl", "2", "--require-monitor=false",
		"--refuse", "1s", "--reconcile-interval", "10s"},
		nil, filepath.Join(r.dir, fmt.Sprintf("scheduler-%d.log", slot)), nil)
	r.fatal(err)
	r.mu.Lock()
	r.scheds[slot] = p
	r.mu.Unlock()
}

// awaitLeader waits until a node leads and is subscribed; it returns its slot.
func (r *run) awaitLeader(limit time.Duration) (int, error) {
	leader := -1
	err := await(r.ctx, "a subscribed leader", limit, func() bool {
		for slot, u := range r.api.urls {
			if h, err := r.api.health(r.ctx, u); err == nil && h.Leader && h.Subscribed {
				leader = slot
				return true
			}
		}
		return false
	})
	return leader, err
}

const runLogPath = "/chaos/starts.log"

func (r *run) taskYAML(name string, instances int, depends ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n", name)
	fmt.Fprintf(&b, "    command: 'echo \"$GLEANER_JOB/$GLEANER_TASK/$GLEANER_INDEX/$GLEANER_ATTEMPT\" >> %s && sleep %s'\n", runLogPath, r.plan.TaskSleep)
	fmt.Fprintf(&b, "    instances: %d\n    retries: 10\n", instances)
	b.WriteString("    backoff: {delay: 1s, factor: 2, max: 4s}\n")
	b.WriteString("    resources: {cpus: 0.25, mem: 32, disk: 0}\n")
	fmt.Fprintf(&b, "    bundle: {uri: \"file://%s\", digest: %q}\n", r.bundle, r.digest)
	fmt.Fprintf(&b, "    volumes: [{host: %q, container: /chaos}]\n", r.runDir)
	if len(depends) > 0 {
		fmt.Fprintf(&b, "    depends: [%s]\n", strings.Join(depends, ", "))
	}
	return b.String()
}

// submitJobs submits the array jobs and the DAG job.
func (r *run) submitJobs() []submitted {
	var out []submitted
	submit := func(name string, tasks []taskSpec, yaml string) {
		var resp struct {
			ID string `json:"id"`
		}
		ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
		defer cancel()
		r.fatal(r.api.do(ctx, "POST", "/v1/jobs", []byte("name: "+name+"\ntasks:\n"+yaml), &resp))
		if resp.ID == "" {
			r.t.Fatalf("submit %s: no job id", name)
		}
		out = append(out, submitted{id: resp.ID, tasks: tasks})
	}
	for i := 1; i <= r.plan.ArrayJobs; i++ {
		submit(fmt.Sprintf("chaos-array-%d", i), []taskSpec{{"run", r.plan.Instances}}, r.taskYAML("run", r.plan.Instances))
	}
	w := r.plan.DAGWidth
	submit("chaos-dag", []taskSpec{{"fan", w}, {"left", w}, {"right", w}, {"join", 1}},
		r.taskYAML("fan", w)+r.taskYAML("left", w, "fan")+r.taskYAML("right", w, "fan")+r.taskYAML("join", 1, "left", "right"))
	return out
}

// injectFaults injects the plan's faults, spread over the run by the run
// log: fault i waits until (i+1)/(F+1) of the instances have started.
func (r *run) injectFaults() {
	faults := r.plan.Faults()
	total := r.plan.TotalInstances()
	agent := 0
	for i, f := range faults {
		want := (i + 1) * total / (len(faults) + 1)
		r.fatal(await(r.ctx, fmt.Sprintf("%d task starts before the %s", want, f), r.plan.Deadline, func() bool {
			return r.starts.count() >= want
		}))
		switch f {
		case LeaderKill:
			r.killLeader()
		case AgentRestart:
			agent = agent%3 + 1
			r.fatal(post(r.ctx, fmt.Sprintf("%s/agents/%d/restart", r.control, agent)))
		case MesosRestart:
			r.fatal(post(r.ctx, r.control+"/restart"))
		case EtcdRestart:
			r.etcd.Stop()
			r.fatal(r.etcd.Restart())
			_, err := r.awaitLeader(60 * time.Second)
			r.fatal(err)
		}
		r.done[f]++
		r.t.Logf("%s %d done after %d task starts", f, r.done[f], r.starts.count())
	}
}

// killLeader SIGKILLs the leading scheduler, restarts it as a standby and
// waits for a subscribed leader again.
func (r *run) killLeader() {
	slot, err := r.awaitLeader(60 * time.Second)
	r.fatal(err)
	r.mu.Lock()
	p := r.scheds[slot]
	r.mu.Unlock()
	killed := time.Now()
	p.kill(syscall.SIGKILL)
	r.startScheduler(slot)
	_, err = r.awaitLeader(60 * time.Second)
	r.fatal(err)
	r.outages = append(r.outages, time.Since(killed))
}

// jobView is the part of GET /v1/jobs/{id} the run reads.
type jobView struct {
	State job.State `json:"state"`
	Tasks []struct {
		Name   string     `json:"name"`
		State  job.State  `json:"state"`
		Counts job.Counts `json:"counts"`
	} `json:"tasks"`
}

func finalState(s job.State) bool {
	return s == job.Succeeded || s == job.Failed || s == job.Killed
}

// awaitJobsEnd waits until every job is in a final state; a job that ended
// other than succeeded fails the run.
func (r *run) awaitJobsEnd(jobs []submitted) {
	for _, j := range jobs {
		var v jobView
		r.fatal(await(r.ctx, "job "+j.id+" to end", r.plan.Deadline, func() bool {
			ctx, cancel := context.WithTimeout(r.ctx, 15*time.Second)
			defer cancel()
			return r.api.do(ctx, "GET", "/v1/jobs/"+j.id, nil, &v) == nil && finalState(v.State)
		}))
		if v.State != job.Succeeded {
			r.t.Errorf("job %s ended %s: %+v", j.id, v.State, v.Tasks)
		}
	}
}

// instanceView is GET /v1/jobs/{id}/tasks/{task}/instances/{index}.
type instanceView struct {
	State    job.State `json:"state"`
	Attempts []struct {
		Attempt int              `json:"attempt"`
		State   job.AttemptState `json:"state"`
	} `json:"attempts"`
}

// check gathers every instance from the API, the run log and the master's
// tasks, and judges them.
func (r *run) check(jobs []submitted) Verdict {
	var keys []InstanceKey
	for _, j := range jobs {
		for _, ts := range j.tasks {
			for i := 0; i < ts.instances; i++ {
				keys = append(keys, InstanceKey{j.id, ts.name, i})
			}
		}
	}
	instances := make([]Instance, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				k := keys[i]
				var v instanceView
				ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
				errs[i] = r.api.do(ctx, "GET", fmt.Sprintf("/v1/jobs/%s/tasks/%s/instances/%d", k.Job, k.Task, k.Index), nil, &v)
				cancel()
				in := Instance{Key: k, State: v.State, Folded: len(v.Attempts) == 0 && v.State == job.Succeeded}
				for _, a := range v.Attempts {
					in.Attempts = append(in.Attempts, Attempt{Attempt: a.Attempt, State: a.State})
				}
				instances[i] = in
			}
		}()
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			r.t.Fatalf("instance %s: %v", keys[i], err)
		}
	}

	f, err := os.Open(r.starts.path)
	r.fatal(err)
	defer f.Close()
	starts, err := ParseRunLog(f)
	r.fatal(err)

	// Every job ended, so every task the master knows must be terminal:
	// wait for stragglers (an update in flight) before judging.
	var tasks []MasterTask
	r.fatal(await(r.ctx, "no active task on the master", 30*time.Second, func() bool {
		var err error
		if tasks, err = masterTasks(r.ctx, r.master); err != nil {
			return false
		}
		for _, t := range tasks {
			if !strings.HasPrefix(t.State, "TASK_") || activeMesosState(t.State) {
				return false
			}
		}
		return true
	}))
	r.logStats(instances, starts, tasks)
	return Check(instances, starts, tasks)
}

func activeMesosState(s string) bool {
	return s == "TASK_STAGING" || s == "TASK_STARTING" || s == "TASK_RUNNING" || s == "TASK_KILLING"
}

// logStats logs what the faults cost: attempts by state, starts, failovers.
func (r *run) logStats(instances []Instance, starts []Start, tasks []MasterTask) {
	byState := map[job.AttemptState]int{}
	byKey := map[InstanceKey]Instance{}
	for _, in := range instances {
		byKey[in.Key] = in
		for _, a := range in.Attempts {
			byState[a.State]++
		}
	}
	lostButFinished := 0
	for _, mt := range tasks {
		if jobID, task, index, attempt, err := job.ParseTaskID(mt.ID); err == nil && mt.State == "TASK_FINISHED" &&
			recordedState(byKey[InstanceKey{jobID, task, index}], attempt) == job.AttemptLost {
			lostButFinished++
		}
	}
	var longest, sum time.Duration
	for _, d := range r.outages {
		sum += d
		longest = max(longest, d)
	}
	avg := time.Duration(0)
	if len(r.outages) > 0 {
		avg = sum / time.Duration(len(r.outages))
	}
	r.t.Logf("attempts recorded (unfolded) by state: %v; command starts in the run log: %d; master tasks: %d, %d of them FINISHED but recorded lost; leader failover (kill → new leader subscribed): avg %s, max %s",
		byState, len(starts), len(tasks), lostButFinished, avg.Round(time.Millisecond), longest.Round(time.Millisecond))
}

// masterTasks lists every task (active and completed) of every framework in
// the master's /master/state.
func masterTasks(ctx context.Context, master string) ([]MasterTask, error) {
	var st struct {
		Frameworks []struct {
			Tasks          []MasterTask `json:"tasks"`
			CompletedTasks []MasterTask `json:"completed_tasks"`
		} `json:"frameworks"`
	}
	c := newClient("", master)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := c.once(ctx, master, "GET", "/master/state", nil, &st); err != nil {
		return nil, err
	}
	var out []MasterTask
	for _, fw := range st.Frameworks {
		out = append(out, fw.Tasks...)
		out = append(out, fw.CompletedTasks...)
	}
	return out, nil
}
