package framework

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

var cleanupPolicies = map[string]gleanerpb.CleanupPolicy{
	"":                gleanerpb.CleanupPolicy_CLEANUP_REMOVE_FINISHED,
	"remove-finished": gleanerpb.CleanupPolicy_CLEANUP_REMOVE_FINISHED,
	"remove-failed":   gleanerpb.CleanupPolicy_CLEANUP_REMOVE_FAILED,
	"remove-all":      gleanerpb.CleanupPolicy_CLEANUP_REMOVE_ALL,
	"remove-none":     gleanerpb.CleanupPolicy_CLEANUP_REMOVE_NONE,
}

// batchPayload adds the batch-model fields to an executor payload:
// timeout, cleanup policy, volumes and bundle.
func batchPayload(p *gleanerpb.TaskPayload, sp *job.TaskSpec) {
	p.TimeoutSeconds = time.Duration(sp.Timeout).Seconds()
	p.Cleanup = cleanupPolicies[sp.Cleanup]
	for _, v := range sp.Volumes {
		p.Volumes = append(p.Volumes, &gleanerpb.Volume{HostPath: v.Host, ContainerPath: v.Container, ReadOnly: v.ReadOnly})
	}
	if sp.Bundle != nil {
		p.Bundle = &gleanerpb.Bundle{Uri: sp.Bundle.URI, Digest: sp.Bundle.Digest}
	}
}

// bundleURIs has the Mesos fetcher download the bundle into the sandbox
// unextracted, so the executor verifies its digest before unpacking.
func bundleURIs(sp *job.TaskSpec) []mesos.CommandInfo_URI {
	if sp.Bundle == nil {
		return nil
	}
	return []mesos.CommandInfo_URI{{Value: sp.Bundle.URI, Extract: proto(false)}}
}

type expandedTask struct {
	e   *expand.Expanded
	err error
}

// instanceSpec returns the task spec of one instance: with a loop or
// placeholders, its command, args and env substituted (the expansion is
// compiled once per task and cached while the job is scheduled).
func (f *Framework) instanceSpec(a job.Attempt, sp *job.TaskSpec) (*job.TaskSpec, error) {
	if !expand.Needed(sp) {
		return sp, nil
	}
	key := a.Job + "\x00" + a.Task
	v, ok := f.expanded.Load(key)
	if !ok {
		js := f.engine.JobSpec(a.Job)
		if js == nil {
			return nil, fmt.Errorf("expand %s: job not scheduled", a.TaskID())
		}
		var et expandedTask
		for i := range js.Tasks {
			if js.Tasks[i].Name == a.Task {
				et.e, et.err = expand.FromSpec(js, i)
			}
		}
		v, _ = f.expanded.LoadOrStore(key, &et)
	}
	et := v.(*expandedTask)
	if et.err != nil || et.e == nil {
		return nil, fmt.Errorf("expand %s: %w", a.TaskID(), et.err)
	}
	in, err := et.e.InstanceWith(a.Index, engine.JobOutputs{Engine: f.engine, Job: a.Job})
	if err != nil {
		return nil, fmt.Errorf("expand %s: %w", a.TaskID(), err)
	}
	c := *sp
	c.Command, c.Args, c.Env = in.Command, in.Args, in.Env
	return &c, nil
}

// pruneExpanded forgets expansions of jobs no longer scheduled.
func (f *Framework) pruneExpanded() {
	f.expanded.Range(func(k, _ any) bool {
		jobID, task, _ := strings.Cut(k.(string), "\x00")
		if f.engine.TaskSpec(jobID, task) == nil {
			f.expanded.Delete(k)
		}
		return true
	})
}

// taskInfo builds the Mesos task for one attempt: Mesos' command executor
// by default, `gleaner executor` when configured; TaskInfo.data carries the
// gleanerpb.TaskPayload either way.
func (f *Framework) taskInfo(l engine.Launch, agent mesos.AgentID, rs []mesos.Resource) (mesos.TaskInfo, error) {
	a, sp := l.Attempt, l.Spec
	sp, err := f.instanceSpec(a, sp)
	if err != nil {
		return mesos.TaskInfo{}, err
	}
	if err := f.cfg.Isolation().CheckTask(a.Task, sp); err != nil { // a job stored under other flags
		return mesos.TaskInfo{}, fmt.Errorf("refuse to launch: %w", err)
	}
	id := a.TaskID()
	env := map[string]string{
		"GLEANER_JOB":     a.Job,
		"GLEANER_TASK":    a.Task,
		"GLEANER_INDEX":   strconv.Itoa(a.Index),
		"GLEANER_ATTEMPT": strconv.Itoa(a.Attempt),
	}
	for k, v := range sp.Env {
		env[k] = v
	}
	if err := f.queueEnv(env, a, sp); err != nil {
		return mesos.TaskInfo{}, err
	}
	payload := gleanerpb.TaskPayload{JobId: a.Job, TaskName: a.Task, Index: uint64(a.Index), Attempt: uint32(a.Attempt),
		Shell: sp.Command != "", Command: sp.Command, Args: sp.Args, Env: env,
		Limits: &gleanerpb.Limits{Cpus: sp.Resources.CPUs, MemMb: sp.Resources.Mem, DiskMb: sp.Resources.Disk, Gpus: uint32(sp.Resources.GPUs)}}
	batchPayload(&payload, sp)
	if err := f.artifactPayload(&payload, a, sp); err != nil { // artifacts.go
		return mesos.TaskInfo{}, err
	}
	if f.cfg.AllowRootTasks { // else the executor's unprivileged default: root is never asked for
		if js := f.engine.JobSpec(a.Job); js != nil {
			payload.User = f.cfg.Isolation().TaskUser(js)
		}
	}
	data, err := payload.Marshal()
	if err != nil {
		return mesos.TaskInfo{}, fmt.Errorf("marshal payload: %w", err)
	}
	labels := []mesos.Label{{Key: "gleaner.job", Value: proto(a.Job)}, {Key: "gleaner.task", Value: proto(a.Task)}}
	for k, v := range sp.Labels {
		labels = append(labels, mesos.Label{Key: k, Value: proto(v)})
	}
	ti := mesos.TaskInfo{
		Name:      id,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   agent,
		Resources: rs,
		Data:      data,
		Labels:    &mesos.Labels{Labels: labels},
	}
	if g := f.cfg.KillGracePeriod; g > 0 {
		// Every KILL (job killed or failing, timeout, eviction, move) gives
		// the task this grace between SIGTERM and SIGKILL.
		ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(g)}}
	}
	if f.cfg.ExecutorPath != "" || f.cfg.ExecutorURI != "" {
		cmd := mesos.CommandInfo{Shell: proto(true)}
		if f.cfg.ExecutorURI != "" {
			cmd.URIs = []mesos.CommandInfo_URI{{Value: f.cfg.ExecutorURI, Executable: proto(true), Extract: proto(false), OutputFile: proto("gleaner")}}
			cmd.Value = proto("./gleaner executor")
		} else {
			cmd.Value = proto(f.cfg.ExecutorPath + " executor")
		}
		if f.cfg.AllowRootTasks { // the executor runs a payload asking for uid 0 only when told it may
			cmd.Value = proto(cmd.GetValue() + " --allow-root-tasks")
		}
		cmd.URIs = append(cmd.URIs, bundleURIs(sp)...)
		ti.Executor = &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: id}, Type: mesos.ExecutorInfo_CUSTOM, Name: proto("gleaner-executor"), Command: &cmd}
		return ti, nil
	}
	vars := make([]mesos.Environment_Variable, 0, len(env))
	for k, v := range env {
		vars = append(vars, mesos.Environment_Variable{Name: k, Type: mesos.Environment_Variable_VALUE.Enum(), Value: proto(v)})
	}
	cmd := mesos.CommandInfo{Environment: &mesos.Environment{Variables: vars}}
	if sp.Command != "" {
		cmd.Shell, cmd.Value = proto(true), proto(sp.Command)
	} else {
		cmd.Shell, cmd.Value, cmd.Arguments = proto(false), proto(sp.Args[0]), sp.Args
	}
	if payload.User == "0" {
		cmd.User = proto("root") // else FrameworkInfo.user
	}
	ti.Command = &cmd
	return ti, nil
}
