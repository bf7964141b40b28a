package framework

import (
	"strings"
	"testing"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// A job asking for root (user: root) runs as uid 0 only when the scheduler
// allows root tasks; otherwise, and for every other account, the payload
// names no user and the executor's unprivileged default applies. Under the
// command executor the same request sets CommandInfo.user, and
// FrameworkInfo.user defaults to nobody.
func TestTaskInfoUser(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cfg          Config
		jobUser      string
		payloadUser  string
		commandUser  string // "" = unset (FrameworkInfo.user)
		frameworkUsr string
	}{
		{"gleaner executor, no user", Config{ExecutorPath: "/g"}, "", "", "", "root"},
		{"gleaner executor, root not allowed", Config{ExecutorPath: "/g"}, "root", "", "", "root"},
		{"gleaner executor, account", Config{ExecutorPath: "/g", AllowRootTasks: true}, "alice", "", "", "root"},
		{"gleaner executor, root allowed", Config{ExecutorPath: "/g", AllowRootTasks: true}, "root", "0", "", "root"},
		{"command executor, no user", Config{}, "", "", "", "nobody"},
		{"command executor, root not allowed", Config{}, "0", "", "", "nobody"},
		{"command executor, root allowed", Config{AllowRootTasks: true}, "root", "0", "root", "nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := engine.New(nil)
			ts := job.TaskSpec{Name: "t", Command: "true", Instances: 1}
			eng.AddJob(&job.Job{ID: "j", Spec: job.Spec{Name: "j", User: tc.jobUser, Tasks: []job.TaskSpec{ts}}})
			f := New(tc.cfg, store.NewMemory(), eng)
			ti, err := f.taskInfo(engine.Launch{Attempt: job.Attempt{Job: "j", Task: "t"}, Spec: &ts}, mesos.AgentID{Value: "a1"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var p gleanerpb.TaskPayload
			if err := p.Unmarshal(ti.Data); err != nil {
				t.Fatal(err)
			}
			if p.User != tc.payloadUser {
				t.Errorf("payload user %q, want %q", p.User, tc.payloadUser)
			}
			if got := ti.GetCommand().GetUser(); got != tc.commandUser {
				t.Errorf("CommandInfo.user %q, want %q", got, tc.commandUser)
			}
			if ex := ti.GetExecutor(); ex != nil {
				allowed := strings.HasSuffix(ex.GetCommand().GetValue(), " executor --allow-root-tasks")
				if allowed != tc.cfg.AllowRootTasks {
					t.Errorf("executor command %q, want --allow-root-tasks: %v", ex.GetCommand().GetValue(), tc.cfg.AllowRootTasks)
				}
			}
			if got := f.cfg.FrameworkInfo("").User; got != tc.frameworkUsr {
				t.Errorf("FrameworkInfo.user %q, want %q", got, tc.frameworkUsr)
			}
		})
	}
}

// A task whose job was stored under the Gleaner executor is not launched by
// a scheduler restarted on the command executor: its bundle would be
// ignored and the task run on the host.
func TestTaskInfoRefusesWhatTheCommandExecutorCannotEnforce(t *testing.T) {
	ts := job.TaskSpec{Name: "inside", Command: "cat /etc/os-release", Instances: 1, Bundle: &job.Bundle{URI: "file:///b.tar.gz"}}
	l := engine.Launch{Attempt: job.Attempt{Job: "j", Task: "inside"}, Spec: &ts}
	if _, err := New(Config{}, store.NewMemory(), engine.New(nil)).taskInfo(l, mesos.AgentID{Value: "a1"}, nil); err == nil ||
		!strings.Contains(err.Error(), "inside.bundle: the command executor cannot enforce bundles") {
		t.Errorf("command executor: %v, want a refusal naming inside.bundle", err)
	}
	ti, err := New(Config{ExecutorPath: "/g"}, store.NewMemory(), engine.New(nil)).taskInfo(l, mesos.AgentID{Value: "a1"}, nil)
	if err != nil || ti.GetExecutor() == nil {
		t.Errorf("gleaner executor: %v, executor %v", err, ti.GetExecutor())
	}
}
