package framework

import (
	"context"
	"fmt"
	"strings"
	"time"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/queue"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// TickInterval is how often the framework hands time to the engine
// (backoffs ending, attempt timeouts, job deadlines, failJob kills).
var TickInterval = 200 * time.Millisecond

// tickLoop runs engine.Tick and acts on its result.
func (f *Framework) tickLoop(ctx context.Context) {
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	ticks, lastTouch := 0, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r := f.engine.Tick()
		if ticks++; ticks%50 == 0 {
			f.pruneExpanded()
		}
		if f.cfg.Queue != nil && time.Since(lastTouch) > f.cfg.Queue.TTL()/3 {
			lastTouch = time.Now()
			go f.touchQueues(ctx)
		}
		if r.Revive {
			f.Revive()
		}
		for _, id := range r.Deadline {
			f.killJob(ctx, id, engine.ReasonDeadline)
		}
		if len(r.Kill) > 0 {
			f.log.Info("killing attempts", "attempts", len(r.Kill), "why", "timeout or failJob")
			f.Kill(ctx, r.Kill)
		}
	}
}

// killJob stores a kill of the job with the reason (a compare-and-swap:
// a suspend or a kill on request racing it keeps both changes), then kills
// its running attempts.
func (f *Framework) killJob(ctx context.Context, id, reason string) {
	if _, err := f.store.UpdateJob(ctx, id, func(j *job.Job) error {
		if !j.KillRequested {
			j.KillRequested, j.KilledAt, j.KillReason = true, time.Now().UTC(), reason
		}
		return nil
	}); err != nil {
		f.log.Warn("kill job: store", "job", id, "err", err)
		return
	}
	tasks := f.engine.KillWithReason(id, reason)
	f.log.Info("job killed", "job", id, "reason", reason, "running", len(tasks))
	f.Kill(ctx, tasks)
}

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

// queueEnv registers a work-queue instance's token and puts the queue's
// URL and the token in its env.
func (f *Framework) queueEnv(env map[string]string, a job.Attempt, sp *job.TaskSpec) error {
	if sp.WorkQueue == nil || f.cfg.Queue == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.RequestTimeout)
	defer cancel()
	tok, err := f.cfg.Queue.Register(ctx, a.Job, a.TaskID())
	if err != nil {
		return fmt.Errorf("register queue token: %w", err)
	}
	env[queue.EnvToken] = tok
	env[queue.EnvURL] = strings.TrimSuffix(f.cfg.QueueURL, "/") + "/v1/jobs/" + a.Job + "/queue"
	return nil
}

// touchQueues keeps the queue claims of running work-queue attempts
// alive, so a worker busy with a long item needs no heartbeat of its own;
// a dead worker's claims still expire (its attempt ends, or its agent is
// lost and the attempt with it).
func (f *Framework) touchQueues(ctx context.Context) {
	for id := range f.engine.Active() {
		jobID, task, _, _, err := job.ParseTaskID(id)
		if err != nil {
			continue
		}
		if sp := f.engine.TaskSpec(jobID, task); sp == nil || sp.WorkQueue == nil {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
		tok, err := f.cfg.Queue.Token(tctx, jobID, id)
		if err == nil {
			err = f.cfg.Queue.Touch(tctx, jobID, tok)
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			f.log.Debug("touch queue claims", "task", id, "err", err)
		}
	}
}

// queueTask reports whether the attempt is of a work-queue task (asked
// before Commit, which may forget a finished job).
func (f *Framework) queueTask(a job.Attempt) bool {
	if f.cfg.Queue == nil {
		return false
	}
	sp := f.engine.TaskSpec(a.Job, a.Task)
	return sp != nil && sp.WorkQueue != nil
}

// releaseQueue releases an ended work-queue instance's claims, so items
// its worker did not finish are handed out again at once.
func (f *Framework) releaseQueue(ctx context.Context, a job.Attempt) {
	go func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.RequestTimeout)
		defer cancel()
		if err := f.cfg.Queue.ReleaseInstance(rctx, a.Job, a.TaskID()); err != nil {
			f.log.Warn("release queue token", "task", a.TaskID(), "err", err)
		}
	}()
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
	in, err := et.e.Instance(a.Index)
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

// signalOf is the terminating signal in the Gleaner executor's TaskResult.
func signalOf(s *mesos.TaskStatus) int {
	if len(s.Data) == 0 {
		return 0
	}
	var r gleanerpb.TaskResult
	if r.Unmarshal(s.Data) != nil {
		return 0
	}
	return int(r.Signal)
}
