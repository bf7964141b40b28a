package schedmem

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// instances is the size of the job; the figure is for 200,000.
// GLEANER_SCHEDMEM_INSTANCES overrides it (a quick local run).
func instances(b *testing.B) int { return countFromEnv(b, "GLEANER_SCHEDMEM_INSTANCES", 200_000, 0) }

// countFromEnv is the environment variable name as a count from 1 to most
// (no bound when 0), or def when it is unset.
func countFromEnv(b *testing.B, name string, def, most int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || (most > 0 && n > most) {
		if most > 0 {
			b.Fatalf("%s=%q: want an integer from 1 to %d", name, v, most)
		}
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkSchedulerMemoryAfterJob runs one job of `command: "true"`
// instances on 20 simulated agents and reports the scheduler process's RSS
// (and its anonymous part, without the mapped binary) and Go heap in use
// ten seconds after the job ended (rss-after-MiB, rss-anon-after-MiB,
// heap-after-MiB), and the growth of its RSS over the idle baseline at the
// peak seen while the job ran, per instance of the job (B/instance) and per
// instance running at once (B/running-instance: the growth over the most
// instances the watch saw running together, most-running). The scheduler
// runs with GODEBUG=gctrace=1, so it also reports the most heap a
// collection marked live while the job ran (live-heap-peak-MiB) and its
// growth over the last marking before the job per instance running at
// once (live-B/running-instance): what the scheduler keeps, apart from
// the garbage the collector's pacing lets the RSS carry.
func BenchmarkSchedulerMemoryAfterJob(b *testing.B) {
	n := instances(b)
	st := startStack(b)
	c, sched, schedLog, profiles := st.api, st.sched, st.schedLog, st.profiles
	baseline := st.baseline

	jobFrom := fileSize(b, schedLog)
	b.ResetTimer()
	spec := fmt.Sprintf("name: schedmem\ntasks:\n  - name: work\n    command: \"true\"\n    resources: {cpus: 0.1, mem: 32}\n    instances: %d\n", n)
	var sub struct {
		ID string `json:"id"`
	}
	if err := c.post("/v1/jobs", spec, &sub); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// Follow the job as `gleaner job submit --watch` does (the SDK's
	// watch stream), sampling the RSS meanwhile.
	sdk, err := client.New(st.apiURL, client.WithToken(st.token))
	if err != nil {
		b.Fatal(err)
	}
	wctx, stopWatch := context.WithTimeout(context.Background(), 15*time.Minute)
	defer stopWatch()
	final := make(chan job.Status, 1)
	watchErr := make(chan error, 1)
	var mostRunning atomic.Int64 // the most instances running at once, as the watch saw them
	go func() {
		st, err := sdk.Watch(wctx, sub.ID, func(st job.Status) {
			running := 0
			for _, t := range st.Tasks {
				running += t.Counts.Running
			}
			if int64(running) > mostRunning.Load() {
				mostRunning.Store(int64(running))
			}
		})
		if err != nil {
			watchErr <- err
			return
		}
		final <- st
	}()
	peak := baseline
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var end job.Status
	for watching := true; watching; {
		select {
		case end = <-final:
			watching = false
		case err := <-watchErr:
			b.Fatalf("watch job %s: %v (logs in %s)", sub.ID, err, st.dir)
		case <-tick.C:
			if r := rssBytes(b, sched.Process.Pid); r > peak {
				peak = r
				profiles.maybe(b, "heap-peak")
			}
		}
	}
	took := time.Since(start)
	jobTo := fileSize(b, schedLog)
	b.StopTimer()
	if end.State != job.Succeeded {
		b.Fatalf("job %s ended %s (logs in %s)", sub.ID, end.State, st.dir)
	}
	time.Sleep(10 * time.Second) // the figure is what is held ten seconds after the job ended
	rss := rssBytes(b, sched.Process.Pid)
	anon := procStatus(b, sched.Process.Pid, "RssAnon:")
	heap := heapInuse(b, st.pprofAddr)
	mesosRSS := rssBytes(b, st.mesos.Process.Pid)
	profiles.save(b, "heap-after")
	const mib = 1 << 20
	b.ReportMetric(float64(rss)/mib, "rss-after-MiB")
	b.ReportMetric(float64(anon)/mib, "rss-anon-after-MiB")
	b.ReportMetric(float64(heap)/mib, "heap-after-MiB")
	b.ReportMetric(float64(peak-baseline)/float64(n), "B/instance")
	if r := mostRunning.Load(); r > 0 {
		b.ReportMetric(float64(peak-baseline)/float64(r), "B/running-instance")
		b.ReportMetric(float64(r), "most-running")
		before, peak := liveHeaps(b, schedLog, jobFrom, jobTo)
		b.ReportMetric(float64(peak)/mib, "live-heap-peak-MiB")
		b.ReportMetric(float64(peak-before)/float64(r), "live-B/running-instance")
	}
	b.ReportMetric(float64(n)/took.Seconds(), "instances/s")
	b.ReportMetric(float64(mesosRSS)/mib, "mesos-rss-after-MiB")

	before, after := etcdSizes(b, st.etcd, sub.ID, n)
	b.ReportMetric(float64(before)/mib, "etcd-db-MiB")
	b.ReportMetric(float64(after)/mib, "etcd-db-compacted-MiB")
}

// runningInstances is the size of the job that runs until the benchmark
// ends (BenchmarkSchedulerMemoryWhileRunning); GLEANER_SCHEDMEM_RUNNING
// overrides it.
func runningInstances(b *testing.B) int {
	return countFromEnv(b, "GLEANER_SCHEDMEM_RUNNING", 100_000, 128_000) // what the 20 agents take at once
}

// BenchmarkSchedulerMemoryWhileRunning runs one job whose instances run
// until the benchmark ends (simulated tasks of 30 minutes, cpus 0.01: the
// 20 agents take 128,000 at once), waits until all of them run at once,
// and reports ten seconds later the growth of the scheduler's RSS over its
// idle baseline per running instance (steady-B/running-instance), and
// the RSS's peak growth while they were launched, per instance
// (launch-peak-B/running-instance); then the scheduler's CPU time over the
// next ten seconds, per second (steady-cpu-ms/s): what holding them costs,
// and its RSS growth per running instance at their end, twenty seconds
// after the launches (settled-B/running-instance), once the launches' tail
// (the RUNNING records stored after their delay, and what follows them)
// has passed; last, the growth of the heap collections then find live
// (forced through the heap profile) per running instance
// (steady-live-B/running-instance).
//
// In BenchmarkSchedulerMemoryAfterJob's job of `true`, most of the
// instances counted running at once have ended on their agents, and their
// ends wait in the update backlog: that figure is the backlog's. Here every
// running instance runs, and the figure is what the scheduler holds for
// one, past its launch.
func BenchmarkSchedulerMemoryWhileRunning(b *testing.B) {
	n := runningInstances(b)
	st := startStack(b)
	liveBefore := liveHeap(b, st.pprofAddr)
	baseline := rssBytes(b, st.sched.Process.Pid)
	b.ResetTimer()
	spec := fmt.Sprintf("name: schedmem-running\ntasks:\n  - name: hold\n    command: \"sleep 1800\"\n"+
		"    labels: {\"localmesos.sim/duration\": \"30m\"}\n    resources: {cpus: 0.01, mem: 32}\n    instances: %d\n", n)
	var sub struct {
		ID string `json:"id"`
	}
	if err := st.api.post("/v1/jobs", spec, &sub); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	running := func() int {
		var status job.Status
		if err := st.api.get("/v1/jobs/"+sub.ID, &status); err != nil {
			b.Fatalf("job %s: %v (logs in %s)", sub.ID, err, st.dir)
		}
		if status.State.Terminal() {
			b.Fatalf("job %s ended %s while its instances should run (logs in %s)", sub.ID, status.State, st.dir)
		}
		r := 0
		for _, t := range status.Tasks {
			r += t.Counts.Running
		}
		return r
	}
	peak := baseline
	lastAsked := time.Now()
	await(b, fmt.Sprintf("all %d instances running", n), 10*time.Minute, func() bool {
		if r := rssBytes(b, st.sched.Process.Pid); r > peak {
			peak = r
			st.profiles.maybe(b, "heap-running-peak")
		}
		if time.Since(lastAsked) < time.Second {
			return false
		}
		lastAsked = time.Now()
		return running() == n
	})
	launched := time.Since(start)
	time.Sleep(10 * time.Second) // the figure is what is held once the launches are ten seconds past
	rss := rssBytes(b, st.sched.Process.Pid)
	// What holding them costs, past the launches' tail: the scheduler's
	// CPU time over the next ten seconds.
	cpuFrom := cpuTime(b, st.sched.Process.Pid)
	time.Sleep(10 * time.Second)
	steadyCPU := cpuTime(b, st.sched.Process.Pid) - cpuFrom
	settled := rssBytes(b, st.sched.Process.Pid)
	// Last: the collections liveHeap forces change what the RSS holds.
	st.profiles.save(b, "heap-running")
	live := liveHeap(b, st.pprofAddr)
	if r := running(); r != n {
		b.Fatalf("%d of %d instances running when measured (logs in %s)", r, n, st.dir)
	}
	b.StopTimer()
	const mib = 1 << 20
	b.ReportMetric(float64(rss-baseline)/float64(n), "steady-B/running-instance")
	b.ReportMetric(float64(settled-baseline)/float64(n), "settled-B/running-instance")
	b.ReportMetric(float64(live-liveBefore)/float64(n), "steady-live-B/running-instance")
	b.ReportMetric(float64(peak-baseline)/float64(n), "launch-peak-B/running-instance")
	b.ReportMetric(float64(rss)/mib, "rss-running-MiB")
	b.ReportMetric(float64(n)/launched.Seconds(), "launches/s")
	b.ReportMetric(float64(steadyCPU.Milliseconds())/10, "steady-cpu-ms/s")
}

// cpuTime is the CPU time (user and system) a process has used, from
// /proc/<pid>/stat (in clock ticks of 1/100 s, as Linux reports them).
func cpuTime(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read the scheduler's stat: %v", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		b.Fatalf("/proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: utime %q stime %q", pid, fields[11], fields[12])
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// stack is etcd, the local Mesos (20 simulated agents) and the
// scheduler, each its own process, as in production.
type stack struct {
	dir, schedLog, pprofAddr, token, apiURL string
	etcd                                    *etcdtest.Server
	mesos, sched                            *exec.Cmd
	api                                     *apiClient
	profiles                                *profiler
	baseline                                int64 // the scheduler's RSS, idle after start-up
}

// startStack starts the stack and waits for a subscribed leader.
func startStack(b *testing.B) *stack {
	if _, err := os.Stat(etcdtest.DebianBinary); err != nil {
		b.Skipf("%s not installed (Debian package etcd-server, make deps): %v", etcdtest.DebianBinary, err)
	}
	dir := b.TempDir()
	bin := gleanerBinary(b, dir)

	etcdDir := filepath.Join(dir, "etcd")
	if err := os.Mkdir(etcdDir, 0o700); err != nil {
		b.Fatal(err)
	}
	etcd, err := etcdtest.Process(etcdtest.DebianBinary, etcdDir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(etcd.Stop)

	profiles := newProfiler(b)
	var mesosArgs []string
	if profiles != nil {
		mesosArgs = append(mesosArgs, "--pprof-listen", profiles.mesosAddr)
	}
	master, mesos := startMesosLocal(b, bin, dir, mesosArgs...)
	token := randomToken(b)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	port := freePort(b)
	api := fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{"scheduler", "--master", master, "--etcd", etcd.Endpoints[0],
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--token-file", tokenFile,
		"--executor-path", bin, "--require-monitor=false", "--refuse", "1s"}
	// Always served: the heap figure is read from it (see heapInuse).
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	if profiles != nil {
		pprofAddr = profiles.addr
	}
	args = append(args, "--pprof-listen", pprofAddr)
	if limit := memoryLimit(); limit != "" {
		args = append(args, "--memory-limit", limit)
	}
	// gctrace: every collection logs the heap it marked live (liveHeaps).
	sched := start(b, dir, "scheduler", bin, []string{"GODEBUG=gctrace=1"}, args...)
	schedLog := filepath.Join(dir, "scheduler.log")
	c := &apiClient{base: api, token: token, hc: &http.Client{Timeout: 30 * time.Second}}
	await(b, "a subscribed leader", 2*time.Minute, func() bool {
		var h struct{ Leader, Subscribed bool }
		return c.get("/healthz", &h) == nil && h.Leader && h.Subscribed
	})

	time.Sleep(2 * time.Second) // settle after start-up, then take the idle baseline
	return &stack{dir: dir, schedLog: schedLog, pprofAddr: pprofAddr, token: token, apiURL: api, etcd: etcd, mesos: mesos,
		sched: sched, api: c, profiles: profiles, baseline: rssBytes(b, sched.Process.Pid)}
}

// defaultMemoryLimit is the scheduler's --memory-limit here: the soft
// limit an operator would give a scheduler expected to run jobs this big.
const defaultMemoryLimit = "160MiB"

// memoryLimit is $GLEANER_SCHEDMEM_MEMORY_LIMIT (off: none, for a build
// without the flag or to see the collector's default pace), or
// defaultMemoryLimit.
func memoryLimit() string {
	switch v := os.Getenv("GLEANER_SCHEDMEM_MEMORY_LIMIT"); v {
	case "":
		return defaultMemoryLimit
	case "off":
		return ""
	default:
		return v
	}
}

// etcdSizes reports etcd's database size (the file, as `etcdctl endpoint
// status` shows it) ten seconds after the job ended, and again once the
// scheduler folded the job's attempt records into ranges and etcd was
// compacted at its current revision and defragmented: the history Gleaner's
// writes left behind, and what a compacting etcd keeps of the job.
func etcdSizes(b *testing.B, etcd *etcdtest.Server, jobID string, n int) (before, after int64) {
	cli, err := etcd.Client()
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ep := etcd.Endpoints[0]
	st, err := cli.Status(ctx, ep)
	if err != nil {
		b.Fatal(err)
	}
	before = st.DbSize
	prefix := store.DefaultPrefix + "attempts/" + jobID + "/"
	var left int64
	await(b, "the job's attempt records folded into ranges", 3*time.Minute, func() bool {
		resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return false
		}
		left = resp.Count
		return left <= int64(n/100)
	})
	resp, err := cli.Get(ctx, "compact-here")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		b.Fatal(err)
	}
	if _, err := cli.Defragment(ctx, ep); err != nil {
		b.Fatal(err)
	}
	if st, err = cli.Status(ctx, ep); err != nil {
		b.Fatal(err)
	}
	return before, st.DbSize
}

// profiler saves the heap profiles of the scheduler and of the local Mesos
// into $GLEANER_SCHEDMEM_PROFILES (a directory) when it is set:
// heap-peak.pb.gz and mesos-heap-peak.pb.gz, taken when the scheduler's RSS
// rose to a new peak (at most every 5 s), and heap-after.pb.gz and
// mesos-heap-after.pb.gz, with the after-job figures. Read them with
// `go tool pprof -sample_index=inuse_space|alloc_space FILE`.
type profiler struct {
	dir, addr, mesosAddr string
	last                 time.Time
}

func newProfiler(b *testing.B) *profiler {
	dir := os.Getenv("GLEANER_SCHEDMEM_PROFILES")
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return &profiler{dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", freePort(b)), mesosAddr: fmt.Sprintf("127.0.0.1:%d", freePort(b))}
}

// maybe saves a profile unless one was saved less than 5 s ago.
func (p *profiler) maybe(b *testing.B, name string) {
	if p == nil || time.Since(p.last) < 5*time.Second {
		return
	}
	p.save(b, name)
}

// save saves both processes' heap profiles.
func (p *profiler) save(b *testing.B, name string) {
	if p == nil {
		return
	}
	p.last = time.Now()
	p.saveOne(b, p.addr, name)
	p.saveOne(b, p.mesosAddr, "mesos-"+name)
}

func (p *profiler) saveOne(b *testing.B, addr, name string) {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
	if err != nil {
		b.Logf("heap profile %s: %v", name, err)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Logf("heap profile %s: HTTP %d, %v", name, resp.StatusCode, err)
		return
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".pb.gz"), data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// gleanerBinary is $GLEANER_BIN (so the same bench can measure another
// build, e.g. an earlier commit's), or a fresh build of cmd/gleaner.
func gleanerBinary(b *testing.B, dir string) string {
	if p := os.Getenv("GLEANER_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			b.Fatal(err)
		}
		return abs
	}
	bin := filepath.Join(dir, "gleaner")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/gleaner-project/gleaner/cmd/gleaner")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build cmd/gleaner: %v\n%s", err, out)
	}
	return bin
}

// start runs bin with args, its output in dir/name.log, stopped (TERM,
// then KILL) when the benchmark ends.
func start(b *testing.B, dir, name, bin string, env []string, args ...string) *exec.Cmd {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

// startMesosLocal runs `gleaner mesos-local --simulated` with 20 agents (and
// extra flags) and returns the master URL it prints and the process.
func startMesosLocal(b *testing.B, bin, dir string, extra ...string) (string, *exec.Cmd) {
	args := append([]string{"mesos-local", "--port", "0", "--agents", "20", "--simulated",
		"--resources", "cpus:64;mem:262144;disk:10240", "--allocation-interval", "100ms", "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "mesos-local.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "master: "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return m, cmd
		}
	}
	b.Fatalf("mesos-local printed no master URL (log: %s)", logf.Name())
	return "", nil
}

type apiClient struct {
	base, token string
	hc          *http.Client
}

func (c *apiClient) do(method, path, body string, out any) error {
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if s, ok := out.(*string); ok {
		*s = string(b)
		return nil
	}
	return json.Unmarshal(b, out)
}

func (c *apiClient) get(path string, out any) error        { return c.do("GET", path, "", out) }
func (c *apiClient) post(path, body string, out any) error { return c.do("POST", path, body, out) }

// rssBytes is VmRSS of a process.
func rssBytes(b *testing.B, pid int) int64 { return procStatus(b, pid, "VmRSS:") }

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// gcLine matches a GODEBUG=gctrace=1 line's heap sizes: at the start of
// the collection, at its end, and marked live (MB, 1<<20 bytes).
var gcLine = regexp.MustCompile(`^gc \d+ @.* (\d+)->(\d+)->(\d+) MB,`)

// liveHeaps reads the gctrace lines of the log at path: before is the heap
// the last collection before byte offset from marked live, peak the most a
// collection between from and to marked live. What the collector lets
// garbage grow to above that is its pacing (GOGC, the soft limit), not what
// the scheduler keeps.
func liveHeaps(b *testing.B, path string, from, to int64) (before, peak int64) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, to))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var at int64
	seen := false
	for sc.Scan() {
		line := sc.Text()
		at += int64(len(line)) + 1
		m := gcLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		live, _ := strconv.ParseInt(m[3], 10, 64)
		live <<= 20
		if at <= from {
			before = live
			continue
		}
		seen = true
		peak = max(peak, live)
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if !seen {
		b.Fatalf("%s: no gctrace line while the job ran", path)
	}
	return before, peak
}

// procStatus reads one kB figure of /proc/<pid>/status.
func procStatus(b *testing.B, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read the scheduler's status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("%s %q: %v", field, v, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/<pid>/status", field)
	return 0
}

// heapInuse is the scheduler's HeapInuse, from the runtime.MemStats its
// heap profile ends with (no forced GC): not from /metrics, whose scrape
// reads the stored jobs itself.
func heapInuse(b *testing.B, pprofAddr string) int64 {
	return memStat(b, pprofAddr, "HeapInuse", false)
}

// liveHeap is the scheduler's heap found live by collections it is made
// to run: two, since what sync.Pools hold (gRPC's buffers) survives the
// first in their victim caches.
func liveHeap(b *testing.B, pprofAddr string) int64 {
	memStat(b, pprofAddr, "HeapAlloc", true)
	return memStat(b, pprofAddr, "HeapAlloc", true)
}

// memStat is one runtime.MemStats figure of the scheduler, from its heap
// profile (/debug/pprof/heap?debug=1); with gc, the profile forces a
// collection first, so HeapAlloc is then the heap found live.
func memStat(b *testing.B, pprofAddr, field string, gc bool) int64 {
	url := "http://" + pprofAddr + "/debug/pprof/heap?debug=1"
	if gc {
		url += "&gc=1"
	}
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# "+field+" = "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				b.Fatalf("%s %q: %v", field, v, err)
			}
			return n
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	b.Fatalf("the heap profile shows no %s", field)
	return 0
}

func await(b *testing.B, what string, limit time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomToken(b *testing.B) string {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(buf)
}
