package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// cliServer serves the real API over b with the tokens of testAPIConfig
// and points the CLI at it.
func cliServer(t *testing.T, b api.Backend) {
	t.Helper()
	srv := httptest.NewServer(api.Handler(b, testAPIConfig()))
	t.Cleanup(srv.Close)
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", "tok")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

func writeSpec(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitCode(err error) int {
	if ec, ok := err.(cli.ExitCoder); ok {
		return ec.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// Issue 13: job list filters server-side and shows end time, duration and
// labels; job get fills REASON and lists failed instances; a failed
// watch names the failing instances and the logs command to run next.
func TestJobListGetAndFailureOutput(t *testing.T) {
	cliServer(t, instantBackend{store.NewMemory()})
	good := writeSpec(t, "name: good\nlabels: {team: data}\ntasks: [{name: a, command: 'true', instances: 2}]")
	bad := writeSpec(t, "name: bad\ntasks: [{name: a, command: 'true'}, {name: b, command: 'false', retries: 0, instances: 3}]")
	if out, err := runJobCLI(t, "job", "submit", "-f", good, "--watch"); err != nil {
		t.Fatalf("good: %v\n%s", err, out)
	}
	out, err := runJobCLI(t, "job", "submit", "-f", bad, "--watch")
	if exitCode(err) != 1 || !strings.Contains(out, "failed instances (3 of 3):") || !strings.Contains(out, "b/0  index 0: exit 4: exited with status 4") ||
		!strings.Contains(out, "next: gleaner job logs bad-1 b/0 --stderr") {
		t.Fatalf("failed watch: %v\n%s", err, out)
	}

	out, err = runJobCLI(t, "job", "list")
	if err != nil || !strings.Contains(out, "ENDED") || !strings.Contains(out, "DURATION") || !strings.Contains(out, "team=data") ||
		strings.Index(out, "good-1") > strings.Index(out, "bad-1") || strings.Contains(out, "\033") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"--state", "failed"}, "bad-1", "good-1"},
		{[]string{"--label", "team=data"}, "good-1", "bad-1"},
		{[]string{"--since", "1h", "-o", "json"}, `"labels"`, "nothing"},
		{[]string{"--since", "2999-01-01T00:00:00Z"}, "ID", "good-1"},
	} {
		out, err := runJobCLI(t, append([]string{"job", "list"}, tc.args...)...)
		if err != nil || !strings.Contains(out, tc.want) || strings.Contains(out, tc.not) {
			t.Errorf("list %v: %v\n%s", tc.args, err, out)
		}
	}
	if _, err := runJobCLI(t, "job", "list", "--state", "done"); err == nil || !strings.Contains(err.Error(), "state") {
		t.Errorf("list --state done: %v", err)
	}
	if _, err := runJobCLI(t, "job", "list", "--since", "yesterday"); exitCode(err) != 2 {
		t.Errorf("list --since yesterday: %v", err)
	}

	out, err = runJobCLI(t, "job", "get", "bad-1")
	if err != nil || !strings.Contains(out, "index 0: exit 4: exited with status 4") {
		t.Fatalf("get fills REASON: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "bad-1", "--failed", "--limit", "2")
	if err != nil || !strings.Contains(out, "b/0") || !strings.Contains(out, "b/1") || strings.Contains(out, "b/2") || !strings.Contains(out, "(2 of 3") {
		t.Fatalf("get --failed: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "bad-1", "--state", "succeeded")
	if err != nil || !strings.Contains(out, "a/0") || strings.Contains(out, "b/0") {
		t.Fatalf("get --state succeeded: %v\n%s", err, out)
	}
	if _, err := runJobCLI(t, "job", "get", "bad-1", "--state", "odd"); err == nil || !strings.Contains(err.Error(), "state") {
		t.Fatalf("get --state odd: %v", err)
	}
}

func TestInspectAndResubmit(t *testing.T) {
	cliServer(t, instantBackend{store.NewMemory()})
	spec := writeSpec(t, "name: again\nlabels: {team: data}\ntasks: [{name: a, command: 'true'}]")
	if _, err := runJobCLI(t, "job", "submit", "-f", spec, "--watch"); err != nil {
		t.Fatal(err)
	}
	out, err := runJobCLI(t, "job", "get", "again-1")
	if err != nil || !strings.Contains(out, "LABELS") || !strings.Contains(out, "team=data") {
		t.Fatalf("get shows the labels: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "inspect", "again-1")
	if err != nil || !strings.Contains(out, "name: again") || !strings.Contains(out, "team: data") || !strings.Contains(out, "retries: 3") {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "again-1", "--spec", "-o", "json")
	if err != nil || !strings.Contains(out, `"name": "again"`) {
		t.Fatalf("get --spec -o json: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "resubmit", "again-1", "--watch")
	if err != nil || !strings.Contains(out, "submitted again-2") || !strings.Contains(out, "succeeded") {
		t.Fatalf("resubmit: %v\n%s", err, out)
	}
}

// pendingBackend never runs anything, and explains: task "gpu" can never
// be placed; it knows two agents for dry runs and runs cron jobs now.
type pendingBackend struct{ instantBackend }

func (b pendingBackend) Submit(ctx context.Context, sp *job.Spec) (*job.Job, error) {
	j := &job.Job{ID: sp.Name + "-1", Spec: *sp, Submitted: time.Now()}
	return j, b.st.CreateJob(ctx, j)
}

func (pendingBackend) Why(jobID, task string) (matcher.Pending, bool) {
	return matcher.Pending{Code: placement.UnschedulableForever, Reasons: []placement.ReasonCount{{Reason: "constraint gpu EXISTS", Count: 2}}}, true
}

func (pendingBackend) Agents() []attrs.AgentInfo {
	return []attrs.AgentInfo{
		{Hostname: "h1", Resources: placement.Resources{CPUs: 2, Mem: 1024}},
		{Hostname: "h2", Resources: placement.Resources{CPUs: 2, Mem: 1024}},
	}
}
func (pendingBackend) Attrs() *attrs.Store { return nil }

func (b pendingBackend) RunNow(ctx context.Context, id string) (string, error) {
	j, err := b.st.GetJob(ctx, id)
	if err != nil {
		return "", err
	}
	run := &job.Job{ID: id + "-now-1", Spec: j.Spec, Submitted: time.Now(), Parent: id}
	run.Spec.Schedule = nil
	return run.ID, b.st.CreateJob(ctx, run)
}

// Issue 13: a watch of a job that can never run says why while it waits,
// and ends with exit 3 unless --wait.
func TestWatchEndsWhenUnschedulableForever(t *testing.T) {
	oldPoll, oldGrace := whyPoll, foreverGrace
	whyPoll, foreverGrace = 20*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { whyPoll, foreverGrace = oldPoll, oldGrace })
	cliServer(t, pendingBackend{instantBackend{store.NewMemory()}})
	spec := writeSpec(t, "name: never\ntasks: [{name: gpu, command: 'true', constraints: [[gpu, EXISTS]]}]")
	out, err := runJobCLI(t, "job", "submit", "-f", spec, "--watch")
	if exitCode(err) != exitUnschedulable || !strings.Contains(err.Error(), "task gpu can never be placed") ||
		!strings.Contains(out, "why pending: gpu unschedulable-forever: constraint gpu EXISTS ×2") {
		t.Fatalf("watch: %v\n%s", err, out)
	}
	// --wait keeps waiting: the watch ends at --watch-timeout instead.
	_, err = runJobCLI(t, "job", "watch", "never-1", "--wait", "--watch-timeout", "500ms")
	if err == nil || exitCode(err) == exitUnschedulable || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("watch --wait: %v", err)
	}
}

func TestValidateAndDryRun(t *testing.T) {
	cliServer(t, pendingBackend{instantBackend{store.NewMemory()}})
	fits := writeSpec(t, "name: ok\ntasks: [{name: a, command: 'true', resources: {cpus: 1}}]")
	huge := writeSpec(t, "name: huge\ntasks: [{name: a, command: 'true'}, {name: b, command: 'true', resources: {cpus: 8}}]")
	out, err := runJobCLI(t, "job", "validate", "-f", fits)
	if err != nil || !strings.Contains(out, "spec valid; placement checked against 2 agents") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "submit", "-f", huge, "--dry-run")
	if exitCode(err) != 1 || !strings.Contains(out, "NEVER") || !strings.Contains(out, "agent has 2 cpus, task asks 8 ×2") {
		t.Fatalf("submit --dry-run: %v\n%s", err, out)
	}
	if _, err := runJobCLI(t, "job", "get", "huge-1"); err == nil {
		t.Fatal("a dry run submitted the job")
	}
	if _, err := runJobCLI(t, "job", "validate", "-f", writeSpec(t, "name: x\ntasks: [{name: a, comand: 'true'}]")); err == nil || !strings.Contains(err.Error(), `did you mean "command"?`) {
		t.Fatalf("validate a typo: %v", err)
	}
}

func TestRunNow(t *testing.T) {
	cliServer(t, pendingBackend{instantBackend{store.NewMemory()}})
	spec := writeSpec(t, "name: nightly\nschedule: {cron: '0 3 * * *'}\ntasks: [{name: a, command: 'true'}]")
	if _, err := runJobCLI(t, "job", "submit", "-f", spec); err != nil {
		t.Fatal(err)
	}
	out, err := runJobCLI(t, "job", "run-now", "nightly-1")
	if err != nil || strings.TrimSpace(out) != "nightly-1-now-1" {
		t.Fatalf("run-now: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "list")
	if err != nil || !strings.Contains(out, "schedule 0 3 * * *; last never; next ") {
		t.Fatalf("list shows the schedule: %v\n%s", err, out)
	}
}
