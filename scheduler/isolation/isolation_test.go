package isolation

import (
	"errors"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func task(edit func(*job.TaskSpec)) job.TaskSpec {
	t := job.TaskSpec{Name: "t", Command: "true", Instances: 1, Resources: job.Resources{CPUs: 0.1, Mem: 32, Disk: 10, GPUs: 1}}
	if edit != nil {
		edit(&t)
	}
	return t
}

func TestCheck(t *testing.T) {
	plain := task(nil)
	bundled := task(func(t *job.TaskSpec) { t.Bundle = &job.Bundle{URI: "file:///b.tar.gz", Digest: "sha256:00"} })
	withVolume := task(func(t *job.TaskSpec) { t.Volumes = []job.Volume{{Host: "/data", Container: "/data"}} })
	withCleanup := task(func(t *job.TaskSpec) { t.Cleanup = "remove-none" })
	limited := task(func(t *job.TaskSpec) { t.Timeout = job.Duration(1e9); t.Env = map[string]string{"A": "b"} })
	withOutputs := task(func(t *job.TaskSpec) {
		t.Outputs = &job.TaskOutputs{Artifacts: []job.OutputArtifact{{Name: "o", Path: "o"}}}
	})
	withInputs := task(func(t *job.TaskSpec) {
		t.Inputs = &job.TaskInputs{Artifacts: []job.InputArtifact{{Name: "i", From: "tasks.t.outputs.artifacts.o", Path: "i"}}}
	})
	gleaner := Policy{}
	command := Policy{CommandExecutor: true}
	for _, c := range []struct {
		name   string
		policy Policy
		spec   job.Spec
		field  string // "" = accepted
		msg    string
	}{
		{"gleaner executor takes a bundle", gleaner, job.Spec{Tasks: []job.TaskSpec{bundled, withVolume, withCleanup}}, "", ""},
		{"command executor, plain task with Mesos resources and a timeout", command, job.Spec{Tasks: []job.TaskSpec{plain, limited}}, "", ""},
		{"command executor refuses a bundle", command, job.Spec{Tasks: []job.TaskSpec{bundled}}, "tasks[0].bundle",
			"the command executor cannot enforce bundles"},
		{"command executor names the task", command, job.Spec{Tasks: []job.TaskSpec{plain, plain, withVolume}}, "tasks[2].volumes",
			"the command executor cannot enforce volumes"},
		{"command executor refuses cleanup", command, job.Spec{Tasks: []job.TaskSpec{withCleanup}}, "tasks[0].cleanup",
			"start the scheduler with --executor-path"},
		{"first unenforceable field of a task", command, job.Spec{Tasks: []job.TaskSpec{task(func(t *job.TaskSpec) {
			t.Cleanup, t.Bundle = "remove-all", &job.Bundle{URI: "u"}
		})}}, "tasks[0].bundle", "bundles"},
		{"root refused by default", gleaner, job.Spec{User: "root", Tasks: []job.TaskSpec{plain}}, "user", "--allow-root-tasks"},
		{"uid 0 refused by default", gleaner, job.Spec{User: "0", Tasks: []job.TaskSpec{plain}}, "user", "runs tasks as root"},
		{"uid 000 is uid 0", command, job.Spec{User: "000", Tasks: []job.TaskSpec{plain}}, "user", "runs tasks as root"},
		{"root checked before the executor's fields", command, job.Spec{User: "root", Tasks: []job.TaskSpec{bundled}}, "user", "root"},
		{"root allowed", Policy{AllowRootTasks: true}, job.Spec{User: "root", Tasks: []job.TaskSpec{bundled}}, "", ""},
		{"root allowed still needs the gleaner executor for a bundle", Policy{CommandExecutor: true, AllowRootTasks: true},
			job.Spec{User: "root", Tasks: []job.TaskSpec{bundled}}, "tasks[0].bundle", "bundles"},
		{"other accounts are fine", gleaner, job.Spec{User: "alice", Tasks: []job.TaskSpec{plain}}, "", ""},
		{"rooted is not root", gleaner, job.Spec{User: "rooted", Tasks: []job.TaskSpec{plain}}, "", ""},
		{"uid 10 is not root", gleaner, job.Spec{User: "10", Tasks: []job.TaskSpec{plain}}, "", ""},
		{"artifacts need a store", gleaner, job.Spec{Tasks: []job.TaskSpec{plain, withInputs}}, "tasks[1].inputs.artifacts", "--artifact-store"},
		{"artifacts with a store", Policy{ArtifactStore: true}, job.Spec{Tasks: []job.TaskSpec{withOutputs, withInputs}}, "", ""},
		{"command executor refuses artifacts", Policy{CommandExecutor: true, ArtifactStore: true}, job.Spec{Tasks: []job.TaskSpec{withOutputs}},
			"tasks[0].outputs.artifacts", "cannot enforce artifacts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.policy.Check(&c.spec)
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			fe, ok := spec.AsFieldError(err)
			if !ok {
				t.Fatalf("error %v, want a field error on %s", err, c.field)
			}
			if fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("field %q msg %q, want field %q msg containing %q", fe.Field, fe.Msg, c.field, c.msg)
			}
		})
	}
}

func TestTaskUser(t *testing.T) {
	for _, c := range []struct {
		policy Policy
		user   string
		want   string
	}{
		{Policy{}, "", ""},
		{Policy{}, "alice", ""},
		{Policy{}, "root", ""}, // refused at submit; never root at launch either
		{Policy{AllowRootTasks: true}, "alice", ""},
		{Policy{AllowRootTasks: true}, "root", "0"},
		{Policy{AllowRootTasks: true}, "0", "0"},
		{Policy{AllowRootTasks: true, CommandExecutor: true}, "root", "0"},
	} {
		if got := c.policy.TaskUser(&job.Spec{User: c.user}); got != c.want {
			t.Errorf("%+v user %q: task user %q, want %q", c.policy, c.user, got, c.want)
		}
	}
}

func TestChooseExecutor(t *testing.T) {
	for _, c := range []struct {
		path, uri string
		command   bool
		want      bool
		err       string
	}{
		{"", "", false, false, "no executor: give --executor-path"},
		{"/opt/gleaner/bin/gleaner-executor", "", false, false, ""},
		{"", "http://repo/gleaner", false, false, ""},
		{"", "", true, true, ""},
		{"/p", "http://u", false, false, "give one of"},
		{"/p", "", true, false, "give one of"},
	} {
		got, err := ChooseExecutor(c.path, c.uri, c.command)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q %q %v: %v", c.path, c.uri, c.command, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q %q %v: error %v, want containing %q", c.path, c.uri, c.command, err, c.err)
		case got != c.want:
			t.Errorf("%q %q %v: command executor %v, want %v", c.path, c.uri, c.command, got, c.want)
		}
	}
	if _, err := ChooseExecutor("", "", false); !errors.Is(err, ErrNoExecutor) {
		t.Errorf("no executor: %v, want ErrNoExecutor", err)
	}
}

func TestFrameworkUser(t *testing.T) {
	for _, c := range []struct {
		policy    Policy
		requested string
		want      string
		err       string
	}{
		{Policy{}, "", "root", ""},
		{Policy{}, "gleaner", "gleaner", ""},
		{Policy{CommandExecutor: true}, "", "nobody", ""},
		{Policy{CommandExecutor: true}, "batch", "batch", ""},
		{Policy{CommandExecutor: true}, "root", "", "--allow-root-tasks"},
		{Policy{CommandExecutor: true}, "0", "", "--user 0"},
		{Policy{CommandExecutor: true, AllowRootTasks: true}, "root", "root", ""},
	} {
		got, err := c.policy.FrameworkUser(c.requested)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%+v %q: %v", c.policy, c.requested, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%+v %q: error %v, want containing %q", c.policy, c.requested, err, c.err)
		case got != c.want:
			t.Errorf("%+v %q: user %q, want %q", c.policy, c.requested, got, c.want)
		}
	}
}
