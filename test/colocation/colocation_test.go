package colocation

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

var (
	fullRun     = flag.Bool("colocation.full", false, "the full benchmark (make colocation): a trace of -colocation.seconds per scenario at the host's capacity")
	seconds     = flag.Int("colocation.seconds", 0, "trace length per scenario in seconds (default 150 full, 6 short)")
	outDir      = flag.String("colocation.out", "", "output directory (default $COLOCATION_OUT or test/colocation/out)")
	scenarios   = flag.String("colocation.scenarios", "a,b,c,d", "scenarios to run, comma-separated, of a–g ((a) always runs: it is the baseline; (e) is a variant of (d) set by the -colocation.e-* flags; (f) is the floor: no Gleaner, the batch work as plain SCHED_IDLE processes; (g) the floor with batch pinned to the last CPU)")
	protect     = flag.Bool("colocation.protect-business", false, "give the business cgroup the largest CPU weight in every scenario: for short runs on a host shared with other users, whose load would otherwise be most of the business latency (not for the benchmark's figures)")
	monitorArgs = flag.String("colocation.monitor-args", "", "extra flags for every scenario's monitor (space-separated), e.g. --cpu-min 1 on a host whose other users leave no idle CPU")
	// Scenario (e), a variant of (d) to measure one lever against it in the
	// same run; it runs when -colocation.scenarios names it.
	variantArgs  = flag.String("colocation.e-monitor-args", "", "scenario (e): (d) with these extra monitor flags (space-separated; {business} stands for the business service's URL)")
	variantNoMem = flag.Bool("colocation.e-no-mem-task", false, "scenario (e): (d) without the memory-hungry task")
	variantInst  = flag.Int("colocation.e-instances-per-cpu", 0, "scenario (e): (d) with this many CPU instances per cpu (0: as (d))")
	loadFlag     = flag.Float64("colocation.load", 0, "trace peak as a fraction of the calibrated capacity's diurnal trace (default 1 full, 0.1 short; a short run at 1 measures levers)")
)

// serviceEnv makes the test binary the business service (TestMain).
const serviceEnv = "COLOCATION_SERVICE_LISTEN"

func TestMain(m *testing.M) {
	if addr := os.Getenv(serviceEnv); addr != "" {
		os.Exit(runService(addr))
	}
	os.Exit(m.Run())
}

// runService is the business service process: it prints its address and
// serves until SIGTERM.
func runService(addr string) int {
	svc, err := NewService(ServiceConfig{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("listening %s\n", l.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := svc.Serve(ctx, l); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// scenario says how batch runs beside the business service.
type scenario struct {
	name, desc string
	batch      bool
	monitor    bool
	agentCPUs  func(ncpu int) float64
	cpuMode    string   // executor --cpu-mode
	monitorArg []string // extra monitor flags
	noMemTask  bool     // the job has no memory-hungry task
	perCPU     int      // CPU instances per cpu (0: 2)
	// floor: no Gleaner at all; the batch job's work runs as plain
	// processes in a cgroup with cpu.idle = 1 (IdleBatch), started by the
	// harness: what any priority-based policy costs at best.
	floor   bool
	pinCPUs func(ncpu int) string // the floor batch's cpuset ("": every CPU)
}

func allScenarios() []scenario {
	host := func(n int) float64 { return float64(n) }
	return []scenario{
		{name: "a", desc: "business alone (baseline)"},
		{name: "b", desc: "static batch share (agent offers half the host), CPU shares, no monitor", batch: true,
			agentCPUs: func(n int) float64 { return float64(n) / 2 }, cpuMode: "shares"},
		{name: "c", desc: "monitor, previous policy (hard CPU caps, usage-based throttle, no SCHED_IDLE, no PSI)", batch: true, monitor: true,
			agentCPUs: host, cpuMode: "hard", monitorArg: []string{"--batch-cpu-idle=false", "--memory-pressure-limit=0"}},
		{name: "d", desc: "monitor, improved policy (defaults: batch SCHED_IDLE with CPU shares, pressure-aware)", batch: true, monitor: true,
			agentCPUs: host, cpuMode: "shares"},
		{name: "e", desc: fmt.Sprintf("variant of d: monitor flags %q, no memory task %v, instances per cpu %d", *variantArgs, *variantNoMem, *variantInst),
			batch: true, monitor: true, agentCPUs: host, cpuMode: "shares", monitorArg: strings.Fields(*variantArgs),
			noMemTask: *variantNoMem, perCPU: *variantInst},
		{name: "f", desc: "floor: no Gleaner; the batch work (2 busy loops per cpu and the dd) as plain processes in one SCHED_IDLE cgroup (cpu.idle=1)",
			floor: true},
		{name: "g", desc: "floor pinned: as f with the batch cgroup confined to the last cpu (cpuset); business free on every cpu",
			floor: true, pinCPUs: func(n int) string { return strconv.Itoa(n - 1) }},
	}
}

// TestColocation runs the co-location benchmark. Without -colocation.full
// it is the smoke form of make test: a few seconds per scenario at a low
// rate, asserting only that the harness works (requests made, batch ran,
// report, JSON and pictures written).
func TestColocation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the business service and the batch tasks run in cgroups of their own")
	}
	rootfstest.Require(t)
	if _, err := os.Stat(etcdtest.DebianBinary); err != nil {
		t.Skipf("%s not installed (Debian etcd-server; make deps installs it)", etcdtest.DebianBinary)
	}
	ncpu := runtime.NumCPU()
	secs := *seconds
	if secs == 0 {
		secs = 6
		if *fullRun {
			secs = 150
		}
	}
	out := *outDir
	if out == "" {
		out = os.Getenv("COLOCATION_OUT")
	}
	if out == "" {
		out = "out"
		if !*fullRun {
			out = filepath.Join(t.TempDir(), "out")
		}
	}
	want := map[string]bool{"a": true}
	for _, s := range strings.Split(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if scenarioByName(s).name == "" {
			t.Fatalf("-colocation.scenarios %q: no scenario %q (a–g)", *scenarios, s)
		}
		want[s] = true
	}

	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, ncpu: ncpu, cgroupRoot: "/sys/fs/cgroup", logDir: filepath.Join(out, "logs")}
	h.bin = gleanerBinary(t, dir)
	h.bundle, h.digest = rootfstest.Bundle(t, filepath.Join(dir, "bundle"), nil)
	etcdDir := filepath.Join(dir, "etcd")
	if err := os.Mkdir(etcdDir, 0o700); err != nil {
		t.Fatal(err)
	}
	etcd, err := etcdtest.Process(etcdtest.DebianBinary, etcdDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Stop)
	h.etcd = etcd.Endpoints[0]
	h.startService()

	// Calibration: the service's CPU per request, alone, at a modest rate.
	calRate, calTime := 100.0, 3*time.Second
	if !*fullRun {
		calRate, calTime = 50, 2*time.Second
	}
	cpu0 := h.business.CPUSeconds()
	reqs := h.attack(NewPacer(Trace{Duration: calTime, Low: calRate, Peak: calRate}))
	cpuPerReq := (h.business.CPUSeconds() - cpu0) / float64(max(len(reqs), 1))
	if len(reqs) == 0 || cpuPerReq <= 0 {
		t.Fatalf("calibration: %d requests, %.3f ms CPU per request: the service did not work", len(reqs), cpuPerReq*1e3)
	}
	capacity := float64(ncpu) / cpuPerReq
	loadScale := 1.0
	if !*fullRun {
		loadScale = 0.1 // the smoke form checks the harness, gently
	}
	if *loadFlag > 0 {
		loadScale = *loadFlag
	}
	if loadScale > 1.5 {
		t.Fatalf("-colocation.load %g: at most 1.5 (the trace's spike is already 0.9 of capacity at 1)", loadScale)
	}
	trace := DiurnalTrace(time.Duration(secs)*time.Second, capacity*loadScale)
	if err := trace.Validate(); err != nil {
		t.Fatal(err)
	}
	rep := &Report{Time: time.Now().UTC(), Short: !*fullRun, NumCPU: ncpu, CPUPerRequestMs: cpuPerReq * 1e3, CapacityRPS: capacity,
		Goal: "(d): harvest ratio >= 0.90 with business p99 within +5% of (a) (p99 ×a <= 1.05) and no business request failed"}
	rep.SetTrace(trace)
	t.Logf("calibrated: %.3f ms CPU per request, capacity %.0f req/s on %d cpus; trace %v: %.0f → %.0f req/s, spike %.0f",
		cpuPerReq*1e3, capacity, ncpu, trace.Duration, trace.Low, trace.Peak, trace.Spike)

	for _, sc := range allScenarios() {
		if !want[sc.name] {
			continue
		}
		res := h.run(sc, trace)
		t.Logf("scenario %s: %d requests, %d errors, p99 %.2f ms, batch %.1f cpu-s, %d batch instances, memory task ran %v",
			res.Name, res.Requests, res.Errors, res.P99Ms, res.BatchCPUSeconds, res.BatchStarted, res.MemoryTaskRan)
		rep.Scenarios = append(rep.Scenarios, res)
	}
	Compare(rep.Scenarios, rep.Scenarios[0], ncpu)
	var sb strings.Builder
	if err := rep.WriteTable(&sb); err != nil {
		t.Fatal(err)
	}
	fmt.Print(sb.String())
	files, err := rep.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("colocation: wrote %s\n", strings.Join(files, ", "))

	// The smoke assertions: the harness worked, whatever the figures.
	// The load generator must keep up with the trace: 80% of its requests
	// made in the full run; half in the smoke form, whose 6 s trace a host
	// busy with other test packages can delay by seconds (it fell under 80%
	// once on a machine at load 20), while a broken pacer still fails it.
	made := 0.8
	if !*fullRun {
		made = 0.5
	}
	for _, r := range rep.Scenarios {
		if r.Requests < int(NewPacer(trace).Total()*made) {
			t.Errorf("scenario %s: %d requests made, the trace schedules %.0f (at least %.0f%% must be made)", r.Name, r.Requests, NewPacer(trace).Total(), made*100)
		}
		if r.Requests-r.Errors == 0 {
			t.Errorf("scenario %s: no request answered", r.Name)
		}
		sc := scenarioByName(r.Name)
		// The batch job runs wherever nothing decides against it: always
		// in (b), in (c) and (d) in the full run (the smoke form may run
		// on a host whose other users leave the monitor no idle CPU).
		if (sc.batch && (!sc.monitor || *fullRun) || sc.floor) && (r.BatchStarted == 0 || r.BatchCPUSeconds <= 0) {
			t.Errorf("scenario %s: the batch job did not run (%d instances seen running, %.2f batch cpu-s)", r.Name, r.BatchStarted, r.BatchCPUSeconds)
		}
		if sc.monitor && !sawMonitor(r) {
			t.Errorf("scenario %s: the monitor's metrics were never read", r.Name)
		}
	}
	if len(files) != 2+len(rep.Scenarios) {
		t.Errorf("wrote %v, want report.json, report.txt and one picture per scenario", files)
	}
}

func sawMonitor(r Result) bool {
	for _, w := range r.Windows {
		if w.ReservedCPUs >= 0 {
			return true
		}
	}
	return false
}

func scenarioByName(n string) scenario {
	for _, s := range allScenarios() {
		if s.name == n {
			return s
		}
	}
	return scenario{}
}

type harness struct {
	t          *testing.T
	dir        string
	bin        string
	bundle     string
	digest     string
	etcd       string
	ncpu       int
	cgroupRoot string
	logDir     string // the processes' logs (in the output directory)
	target     string // business URL
	business   Cgroup
}

// startService starts the business service (this test binary) in a cgroup
// of its own, outside the batch hierarchy.
func (h *harness) startService() {
	t := h.t
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serviceEnv+"=127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.business = NewCgroup(h.cgroupRoot, fmt.Sprintf("colocation-business-%d", os.Getpid()))
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = h.business.Remove()
	})
	if err := h.business.Create(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if *protect {
		if err := h.business.SetMaxWeight(); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("business service printed no address: %v", sc.Err())
	}
	addr, ok := strings.CutPrefix(sc.Text(), "listening ")
	if !ok {
		t.Fatalf("business service: unexpected first line %q", sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	h.target = "http://" + addr + "/"
}

// attack runs the open-loop load of pacer against the service and returns
// every request's outcome.
func (h *harness) attack(p *Pacer) []Request {
	atk := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.Workers(uint64(4*h.ncpu)), vegeta.MaxWorkers(2000), vegeta.KeepAlive(true))
	tgt := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: h.target})
	reqs := make([]Request, 0, int(p.Total())+16)
	var start time.Time
	for r := range atk.Attack(tgt, p, p.trace.Duration+time.Second, "colocation") {
		if start.IsZero() {
			start = r.Timestamp
		}
		reqs = append(reqs, Request{At: r.Timestamp.Sub(start), Latency: r.Latency, OK: r.Code == http.StatusOK && r.Error == ""})
	}
	return reqs
}

// run runs one scenario: the batch stack (if any), then the trace while
// sampling every second, then tears the stack down.
func (h *harness) run(sc scenario, trace Trace) Result {
	t := h.t
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	parent := fmt.Sprintf("gleaner-colocation-%s-%d", sc.name, os.Getpid())
	batch := NewCgroup(h.cgroupRoot, parent)
	sdir := filepath.Join(h.dir, "scenario-"+sc.name)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		t.Fatal(err)
	}
	var st *stack
	if sc.batch {
		st = h.startStack(ctx, sc, parent, sdir)
		defer st.stop()
	}
	floorProcs := 0
	if sc.floor {
		cfg := IdleBatchConfig{Root: h.cgroupRoot, Name: parent, Loops: 2 * h.ncpu, MemoryTask: true}
		if sc.pinCPUs != nil {
			cfg.CPUs = sc.pinCPUs(h.ncpu)
		}
		fb, err := StartIdleBatch(cfg)
		if err != nil {
			t.Fatalf("scenario %s: %v", sc.name, err)
		}
		defer func() {
			if err := fb.Stop(); err != nil {
				t.Errorf("scenario %s: %v", sc.name, err)
			}
		}()
		floorProcs = fb.Procs()
	}

	var (
		mu      sync.Mutex
		samples []Sample
		started int
		memRan  bool
	)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prevAt, prevBus, prevBatch := time.Now(), h.business.CPUSeconds(), batch.CPUSeconds()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case now := <-tick.C:
				bus, bat := h.business.CPUSeconds(), batch.CPUSeconds()
				dt := now.Sub(prevAt).Seconds()
				s := Sample{At: now.Sub(t0) - time.Second/2, BusinessCPUs: (bus - prevBus) / dt, BatchCPUs: max(bat-prevBatch, 0) / dt, ReservedCPUs: -1}
				prevAt, prevBus, prevBatch = now, bus, bat
				if st != nil {
					st.observe(sampleCtx, &s)
					running, mem := st.running(sampleCtx)
					mu.Lock()
					started, memRan = max(started, running), memRan || mem
					mu.Unlock()
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}
	}()
	self0 := selfCPUSeconds()
	var stack0 float64
	if st != nil {
		stack0 = st.cpuSeconds()
	}
	reqs := h.attack(NewPacer(trace))
	stopSampling()
	wg.Wait()
	res := Summarize(sc.name, sc.desc, trace.Duration, trace, reqs, samples)
	res.LoadGenCPUSeconds = selfCPUSeconds() - self0
	if st != nil {
		res.StackCPUSeconds = st.cpuSeconds() - stack0
	}
	res.BatchStarted, res.MemoryTaskRan = started, memRan
	if sc.floor {
		res.BatchStarted, res.MemoryTaskRan = floorProcs, true
	}
	oom, swap := h.business.MemoryHealth()
	res.BusinessOOMKill, res.BusinessSwapMB = int(oom), int(swap>>20)
	return res
}

// selfCPUSeconds is this process's CPU time (the load generator and the
// sampling; the business service is a child process, not counted).
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// cpuSeconds is the CPU time of the stack's processes and their
// descendants outside the batch cgroups (the executors), read from /proc;
// a process gone meanwhile counts 0 (compare readings of one run).
func (s *stack) cpuSeconds() float64 {
	roots := map[int]bool{}
	for _, p := range s.procs {
		roots[p.Process.Pid] = true
	}
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	ticks := map[int]float64{}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// After the last ')': state ppid ... utime(12th) stime(13th).
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		var ppid int
		var ut, stt float64
		fmt.Sscan(f[1], &ppid)
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &stt)
		if cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup")); err == nil && strings.Contains(string(cg), "/"+s.parent+"/") {
			continue // a batch task: batch CPU, not the stack's
		}
		parent[pid], ticks[pid] = ppid, (ut+stt)/100
	}
	var sum float64
	for pid, t := range ticks {
		for p, hops := pid, 0; p > 1 && hops < 16; p, hops = parent[p], hops+1 {
			if roots[p] {
				sum += t
				break
			}
		}
	}
	return sum
}

// stack is one scenario's batch side: mesos-local, a scheduler, maybe a
// monitor, and the batch job.
type stack struct {
	h       *harness
	procs   []*exec.Cmd
	api     *client.Client
	jobID   string
	metrics string // monitor /metrics URL
	hc      *http.Client
	parent  string
}

func (h *harness) startProc(name string, args []string, sdir string, stdout io.Writer) *exec.Cmd {
	if err := os.MkdirAll(h.logDir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(h.logDir, filepath.Base(sdir)+"-"+name+".log"))
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(h.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); logf.Close() }()
	return cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (h *harness) startStack(ctx context.Context, sc scenario, parent, sdir string) *stack {
	t := h.t
	s := &stack{h: h, hc: &http.Client{Timeout: 5 * time.Second}, parent: parent}
	// The executor, as the agents run it, with this scenario's cgroup
	// parent and CPU mode.
	wrapper := filepath.Join(sdir, "executor.sh")
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = executor ] && shift\nexec %s executor --cgroup-parent %s --cpu-mode %s \"$@\"\n", h.bin, parent, sc.cpuMode)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	memMB := 4096
	pr, pw := io.Pipe()
	mesos := h.startProc("mesos-local", []string{"mesos-local", "--port", "0", "--agents", "1",
		"--resources", fmt.Sprintf("cpus:%g;mem:%d;disk:10240", sc.agentCPUs(h.ncpu), memMB),
		"--work-dir", filepath.Join(sdir, "mesos"), "--allocation-interval", "200ms", "--log-level", "warn"}, sdir, pw)
	s.procs = append(s.procs, mesos)
	var master string
	lines := bufio.NewScanner(pr)
	for master == "" && lines.Scan() {
		master, _ = strings.CutPrefix(lines.Text(), "master: ")
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if master == "" {
		s.stop()
		t.Fatalf("mesos-local printed no master URL (log in %s)", h.logDir)
	}
	prefix := "/colocation-" + sc.name + "/"
	token := fmt.Sprintf("glt_colocation_%d_%d", os.Getpid(), time.Now().UnixNano())
	tokenFile := filepath.Join(sdir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s.procs = append(s.procs, h.startProc("scheduler", []string{"scheduler", "--master", master, "--etcd", h.etcd,
		"--etcd-prefix", prefix, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--token-file", tokenFile,
		"--state-dir", filepath.Join(sdir, "state"), "--executor-path", wrapper, "--refuse", "1s",
		fmt.Sprintf("--require-monitor=%v", sc.monitor)}, sdir, nil))
	if sc.monitor {
		mport := freePort(t)
		s.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", mport)
		args := append([]string{"monitor", "--master", master, "--agent-hostname", "local-agent-1",
			"--etcd", h.etcd, "--etcd-prefix", prefix, "--listen", fmt.Sprintf("127.0.0.1:%d", mport),
			"--cgroup-parent", parent, "--log-level", "info"}, strings.Fields(*monitorArgs)...)
		args = append(args, sc.monitorArg...)
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "{business}", h.target) // e.g. --slo-probe-url {business}
		}
		s.procs = append(s.procs, h.startProc("monitor", args, sdir, nil))
	}
	api, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), client.WithToken(token))
	if err != nil {
		s.stop()
		t.Fatal(err)
	}
	s.api = api
	spec := h.jobSpec(sc)
	var sub client.Submitted
	deadline := time.Now().Add(60 * time.Second)
	for {
		sub, err = api.Submit(ctx, []byte(spec))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // the scheduler is starting; poll
	}
	if err != nil {
		s.stop()
		t.Fatalf("submit the batch job: %v (logs in %s)", err, h.logDir)
	}
	s.jobID = sub.ID
	// Batch is running before the trace starts. On a shared machine the
	// monitor may rightly find no idle CPU (other users count as business):
	// the smoke form then goes on without batch.
	wait := 90 * time.Second
	if !*fullRun {
		wait = 15 * time.Second
	}
	deadline = time.Now().Add(wait)
	for {
		if n, _ := s.running(ctx); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			if *fullRun {
				s.stop()
				t.Fatalf("scenario %s: no batch instance running after %v (logs in %s)", sc.name, wait, h.logDir)
			}
			t.Logf("scenario %s: no batch instance running after %v; the monitor finds no idle CPU on this host (logs in %s)", sc.name, wait, h.logDir)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return s
}

// jobSpec is the batch job: CPU-bound instances (as many half-cpu busy
// loops as the host has cpus, twice over) and one memory-hungry task.
func (h *harness) jobSpec(sc scenario) string {
	bundle := fmt.Sprintf("    bundle: {uri: \"file://%s\", digest: %q}\n", h.bundle, h.digest)
	perCPU := sc.perCPU
	if perCPU <= 0 {
		perCPU = 2
	}
	spec := "name: colocation-batch\ntasks:\n" +
		"  - name: cpu\n    command: 'while :; do :; done'\n" +
		fmt.Sprintf("    instances: %d\n", perCPU*h.ncpu) +
		"    retries: 100\n    resources: {cpus: 0.5, mem: 32, disk: 0}\n" + bundle
	if !sc.noMemTask {
		spec += "  - name: mem\n    command: 'dd if=/dev/zero of=/dev/null bs=256M count=1000000000'\n" +
			"    retries: 100\n    resources: {cpus: 0.1, mem: 320, disk: 0}\n" + bundle
	}
	return spec
}

// running counts running batch instances and says whether the memory task runs.
func (s *stack) running(ctx context.Context) (int, bool) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	v, err := s.api.Get(cctx, s.jobID)
	if err != nil {
		return 0, false
	}
	n, mem := 0, false
	for _, tk := range v.Tasks {
		n += tk.Counts.Running
		if tk.Name == "mem" && tk.Counts.Running > 0 {
			mem = true
		}
	}
	return n, mem
}

// observe adds the monitor's view to a sample.
func (s *stack) observe(ctx context.Context, smp *Sample) {
	if s.metrics == "" {
		return
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", s.metrics, nil)
	resp, err := s.hc.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	m := MetricSums(string(b))
	smp.ReservedCPUs = m["gleaner_monitor_reserved_cpus"]
	smp.Throttled = m["gleaner_monitor_throttled"] > 0
	smp.ThrottleCPUs = m["gleaner_monitor_throttle_cpus"]
	smp.Evictions = m["gleaner_monitor_evictions_requested_total"]
	smp.ResChanges = m["gleaner_monitor_reservation_operations_total"]
}

// stop kills the job, then stops the processes (monitor first) and
// removes the batch cgroups left.
func (s *stack) stop() {
	if s.jobID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = s.api.Kill(ctx, s.jobID)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if n, _ := s.running(ctx); n == 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		}
	}
	removeTree(s.h.cgroupRoot, s.parent)
}

// removeTree kills what is left in the batch parent and removes it and its
// children (v1: under each controller).
func removeTree(root, parent string) {
	var tops []string
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		tops = []string{filepath.Join(root, parent)}
	} else {
		for _, c := range []string{"cpu", "cpuacct", "memory", "pids"} {
			tops = append(tops, filepath.Join(root, c, parent))
		}
	}
	for _, top := range tops {
		entries, _ := os.ReadDir(top)
		for _, e := range entries {
			if e.IsDir() {
				d := filepath.Join(top, e.Name())
				killProcs(d)
				_ = os.Remove(d)
			}
		}
		killProcs(top)
		_ = os.Remove(top)
	}
}

func killProcs(dir string) {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(b)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// gleanerBinary is $GLEANER_BIN, or a fresh build of cmd/gleaner in dir.
func gleanerBinary(t *testing.T, dir string) string {
	if b := os.Getenv("GLEANER_BIN"); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(abs) == "gleaner" {
			return abs
		}
		// The monitor knows executors by argv[0]'s base name, gleaner.
		link := filepath.Join(dir, "gleaner")
		if err := os.Symlink(abs, link); err != nil {
			t.Fatal(err)
		}
		return link
	}
	bin := filepath.Join(dir, "gleaner")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/gleaner-project/gleaner/cmd/gleaner")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/gleaner: %v\n%s", err, out)
	}
	return bin
}
