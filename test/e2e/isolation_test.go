package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiDo sends a request to the HTTP API, with token as bearer if given.
func apiDo(method, url, token string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}

// postSpec submits a spec through the HTTP API and returns the status and
// the decoded answer.
func postSpec(t *testing.T, url, token, spec string) (int, api.Error, string) {
	t.Helper()
	resp, err := apiDo("POST", url+"/v1/jobs", token, strings.NewReader(spec))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		api.Error
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode answer (%d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body.Error, body.ID
}

// A scheduler on Mesos' command executor refuses at submit, with a 400
// naming the field, what that executor cannot enforce (issue 11 finding 1:
// the bundle, volumes and cleanup were ignored and the job reported
// succeeded); any scheduler refuses a job asking for root unless started
// allowing it. Nothing refused is stored.
func TestSubmitFailsClosed(t *testing.T) {
	volumes, err := os.ReadFile("../../examples/volumes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const bundled = `
name: chrooted
tasks:
  - name: prepare
    command: "true"
  - name: inside
    command: "cat /etc/os-release"
    bundle: {uri: "file:///bundles/busybox.tar.gz", digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}
`
	const rootJob = "name: as-root\nuser: root\ntasks:\n  - {name: t, command: \"id -u\"}\n"
	const cleanupJob = "name: keep\ntasks:\n  - {name: t, command: \"true\", cleanup: remove-none}\n"
	const token = "isolation-e2e-admin-token"
	guard := auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("e2e", auth.Admin, token))}
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Simulated: true})
	command, _ := env.startNode("command")
	waitFor(t, "leadership", 10*time.Second, command.IsLeader)
	srv := httptest.NewServer(api.Handler(command, api.Config{Auth: guard, Logger: testLogger(t)}))
	defer srv.Close()
	for _, c := range []struct {
		name, spec, field, msg string
	}{
		{"bundle", bundled, "tasks[1].bundle", "the command executor cannot enforce bundles; start the scheduler with --executor-path"},
		{"volumes example", string(volumes), "tasks[0].bundle", "cannot enforce bundles"},
		{"cleanup", cleanupJob, "tasks[0].cleanup", "cannot enforce cleanup"},
		{"root", rootJob, "user", "--allow-root-tasks"},
	} {
		code, e, id := postSpec(t, srv.URL, token, c.spec)
		if code != http.StatusBadRequest || e.Field != c.field || !strings.Contains(e.Error, c.msg) {
			t.Errorf("%s: %d %+v (id %q), want 400 on %s saying %q", c.name, code, e, id, c.field, c.msg)
		}
	}
	if js, err := command.Store().ListJobs(t.Context()); err != nil || len(js) != 0 {
		t.Errorf("refused jobs were stored: %d jobs, %v", len(js), err)
	}

	// Under the Gleaner executor the same bundle is accepted; root is not.
	gleanerEnv := newSchedEnv(t, localmesos.Config{Agents: 1, Simulated: true})
	gleaner, _ := gleanerEnv.startNode("gleaner", func(c *node.Config) { c.Framework.ExecutorPath = "/opt/gleaner/bin/gleaner-executor" })
	waitFor(t, "leadership", 10*time.Second, gleaner.IsLeader)
	gsrv := httptest.NewServer(api.Handler(gleaner, api.Config{Auth: guard, Logger: testLogger(t)}))
	defer gsrv.Close()
	if code, e, id := postSpec(t, gsrv.URL, token, bundled); code != http.StatusCreated || id == "" {
		t.Errorf("bundle under the Gleaner executor: %d %+v", code, e)
	} else if _, err := gleaner.Kill(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if code, e, _ := postSpec(t, gsrv.URL, token, rootJob); code != http.StatusBadRequest || e.Field != "user" {
		t.Errorf("root under the Gleaner executor: %d %+v, want 400 on user", code, e)
	}
}

// `gleaner dev` runs tasks under the Gleaner executor (its own binary):
// a bare task runs in the executor's cgroups as an unprivileged user, not
// as root on the host (issue 11 finding 1: uid 0 under the command
// executor).
func TestDevRunsTasksUnderTheGleanerExecutor(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	data, out := openDir(t), openDir(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dev := exec.Command(bin, "dev", "--listen", addr, "--data-dir", data, "--agents", "1", "--no-monitors")
	// Where gleaner dev writes the client's token, if it makes one.
	dev.Env = append(os.Environ(), "XDG_CONFIG_HOME="+openDir(t))
	var log lockedBuffer // written by exec's copying goroutine while the test reads it
	dev.Stdout, dev.Stderr = &log, &log
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	// exited closes when the process has ended (waitErr then holds why), so
	// the start-up wait and the cleanup can both observe it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = dev.Wait(); close(exited) }()
	t.Cleanup(func() {
		dev.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	url := "http://" + addr
	var token string // the admin token gleaner dev prints, when the API wants one
	waitFor(t, "gleaner dev to lead", 60*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("gleaner dev exited: %v\n%s", waitErr, log.String())
		default:
		}
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		for _, line := range strings.Split(log.String(), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "token:" {
				token = f[1]
			}
		}
		defer resp.Body.Close()
		var h struct{ Leader, Subscribed bool }
		return json.NewDecoder(resp.Body).Decode(&h) == nil && h.Leader && h.Subscribed
	})
	code, e, id := postSpec(t, url, token, fmt.Sprintf(`
name: whoami
tasks:
  - name: t
    command: "id -u > %[1]s/uid; cat /proc/self/cgroup > %[1]s/cgroup"
    resources: {cpus: 0.1, mem: 32}
    retries: 0
`, out))
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %+v", code, e)
	}
	var st job.Status
	waitFor(t, "the job to end", 60*time.Second, func() bool {
		resp, err := apiDo("GET", url+"/v1/jobs/"+id, token, nil)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&st) == nil && (st.State == job.Succeeded || st.State == job.Failed)
	})
	if st.State != job.Succeeded {
		var attempts bytes.Buffer
		if resp, err := apiDo("GET", url+"/v1/jobs/"+id+"/tasks/t/instances/0", token, nil); err == nil {
			attempts.ReadFrom(resp.Body)
			resp.Body.Close()
		}
		t.Fatalf("job %s: %s\n%s", st.State, attempts.String(), log.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "uid"))
	if err != nil {
		t.Fatal(err)
	}
	uid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || uid == 0 {
		t.Fatalf("task ran as uid %q, want an unprivileged uid", b)
	}
	fi, err := os.Stat(filepath.Join(out, "uid"))
	if err != nil {
		t.Fatal(err)
	}
	if owner := fi.Sys().(*syscall.Stat_t).Uid; owner != uint32(uid) {
		t.Errorf("the task's file is owned by uid %d, the task said %d", owner, uid)
	}
	cg, err := os.ReadFile(filepath.Join(out, "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cg), "/gleaner/") {
		t.Errorf("task not in the Gleaner executor's cgroups:\n%s", cg)
	}
	t.Logf("task uid %d, cgroups:\n%s", uid, cg)
}

// Under the command executor tasks run as FrameworkInfo.user, on agents that
// switch users as a Mesos agent does (run directories 0750, owned by that
// user): nobody by default, root only for a job asking for it on a
// scheduler allowing it (CommandInfo.user).
func TestCommandExecutorTaskUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("agents switch users only as root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no nobody user on this host: %v", err)
	}
	out := openDir(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 1, WorkDir: openDir(t), SwitchUser: true})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.AllowRootTasks = true })
	for _, c := range []struct{ name, user, want string }{
		{"plain", "", nobody.Uid},
		{"account", "alice", nobody.Uid},
		{"root", "root", "0"},
	} {
		doc := fmt.Sprintf("name: as-%s\ntasks:\n  - {name: t, command: \"id -u > %s/%s\", retries: 0}\n", c.name, out, c.name)
		if c.user != "" {
			doc += "user: " + c.user + "\n"
		}
		j := submit(t, []*node.Node{n}, mustSpec(t, doc))
		if st, as := waitJob(t, n, j.ID, 60*time.Second); st.State != job.Succeeded {
			t.Fatalf("%s: job %s: %+v", c.name, st.State, as)
		}
		b, err := os.ReadFile(filepath.Join(out, c.name))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != c.want {
			t.Errorf("%s (user %q): task ran as uid %s, want %s", c.name, c.user, got, c.want)
		}
	}
}
