package executor

import (
	"strings"
	"syscall"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/executor/cgroups"
	"github.com/gleaner-project/gleaner/executor/sandbox"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

func TestDecodePayload(t *testing.T) {
	enc := func(p *gleanerpb.TaskPayload) []byte { b, _ := p.Marshal(); return b }
	cmd := "echo hi"
	cases := []struct {
		name string
		ti   mesos.TaskInfo
		err  string
	}{
		{"ok", mesos.TaskInfo{Data: enc(&gleanerpb.TaskPayload{Shell: true, Command: "true"})}, ""},
		{"command info", mesos.TaskInfo{Command: &mesos.CommandInfo{Value: &cmd}}, ""},
		{"garbage", mesos.TaskInfo{Data: []byte{0xff, 0xff, 0xff}}, "decode TaskPayload"},
		{"nothing", mesos.TaskInfo{}, "neither"},
		{"no command", mesos.TaskInfo{Data: enc(&gleanerpb.TaskPayload{Shell: true, JobId: "j"})}, "command or args"},
		{"bad digest", mesos.TaskInfo{Data: enc(&gleanerpb.TaskPayload{Args: []string{"x"}, Bundle: &gleanerpb.Bundle{Uri: "u", Digest: "md5:1"}})}, "bundle.digest"},
		{"relative volume", mesos.TaskInfo{Data: enc(&gleanerpb.TaskPayload{Args: []string{"x"}, Volumes: []*gleanerpb.Volume{{HostPath: "/a", ContainerPath: "data"}}})}, "volumes[0].container_path"},
		{"dotdot volume", mesos.TaskInfo{Data: enc(&gleanerpb.TaskPayload{Args: []string{"x"}, Volumes: []*gleanerpb.Volume{{HostPath: "/a", ContainerPath: "/../etc"}}})}, "volumes[0].container_path"},
		{"negative timeout", mesos.TaskInfo{Data: enc(&gleanerpb.TaskPayload{Args: []string{"x"}, TimeoutSeconds: -1})}, "timeout_seconds"},
	}
	for _, c := range cases {
		p, err := decodePayload(c.ti)
		if c.err == "" {
			if err != nil || p == nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
	p, _ := decodePayload(mesos.TaskInfo{Command: &mesos.CommandInfo{Value: &cmd}})
	if !p.Shell || p.Command != cmd {
		t.Errorf("command info payload %+v", p)
	}
}

func TestOutcome(t *testing.T) {
	e := &Executor{}
	cases := []struct {
		name   string
		memMB  float64
		stop   string
		detail string
		ex     sandbox.Exit
		stats  cgroups.Stats
		state  mesos.TaskState
		reason mesos.TaskStatus_Reason
		msg    string
		limit  string
	}{
		{"ok", 0, "", "", sandbox.Exit{Code: 0}, cgroups.Stats{}, mesos.TASK_FINISHED, 0, "exited with status 0", ""},
		{"exit 3", 0, "", "", sandbox.Exit{Code: 3}, cgroups.Stats{}, mesos.TASK_FAILED, 0, "exited with status 3", ""},
		{"signal", 0, "", "", sandbox.Exit{Code: -1, Signal: syscall.SIGSEGV}, cgroups.Stats{}, mesos.TASK_FAILED, 0, "killed by signal 11", ""},
		{"oom", 64, "", "", sandbox.Exit{Code: -1, Signal: syscall.SIGKILL}, cgroups.Stats{OOMKills: 1}, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LIMITATION_MEMORY, "memory limit 64 MiB exceeded (killed by signal 9)", "memory"},
		{"oom by failcnt", 64, "", "", sandbox.Exit{Code: -1, Signal: syscall.SIGKILL}, cgroups.Stats{MemFailures: 3}, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LIMITATION_MEMORY, "memory limit 64 MiB exceeded (killed by signal 9)", "memory"},
		{"disk", 0, LimitDisk, "disk limit 8 MiB exceeded (sandbox uses 9 MiB)", sandbox.Exit{Code: -1, Signal: syscall.SIGKILL}, cgroups.Stats{}, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LIMITATION_DISK, "disk limit 8 MiB exceeded (sandbox uses 9 MiB) (killed by signal 9)", "disk"},
		{"timeout", 0, LimitTimeout, "timed out after 1s", sandbox.Exit{Code: -1, Signal: syscall.SIGTERM}, cgroups.Stats{}, mesos.TASK_FAILED, mesos.REASON_MAX_COMPLETION_TIME_REACHED, "timed out after 1s (killed by signal 15)", "timeout"},
		{"killed", 0, "kill", "", sandbox.Exit{Code: -1, Signal: syscall.SIGTERM}, cgroups.Stats{}, mesos.TASK_KILLED, 0, "killed by signal 15", ""},
		{"killed, exited cleanly", 0, "kill", "", sandbox.Exit{Code: 0}, cgroups.Stats{}, mesos.TASK_KILLED, 0, "killed: exited with status 0", ""},
		{"killed with failcnt is a kill", 64, "kill", "", sandbox.Exit{Code: -1, Signal: syscall.SIGKILL}, cgroups.Stats{MemFailures: 1}, mesos.TASK_KILLED, 0, "killed by signal 9", ""},
	}
	for _, c := range cases {
		tk := &task{memMB: c.memMB, stopReason: c.stop, stopDetail: c.detail}
		res := &gleanerpb.TaskResult{}
		state, reason, msg := e.outcome(tk, c.ex, c.stats, res)
		if state != c.state || reason != c.reason || msg != c.msg || res.Limitation != c.limit {
			t.Errorf("%s: %s %s %q %q", c.name, state, reason, msg, res.Limitation)
		}
	}
}
