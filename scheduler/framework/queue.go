package framework

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/queue"
)

// queueEnv puts a work-queue instance's queue URL and token in its env
// (needsClaim). The token is an HMAC computed here (the secret is read
// from etcd once); the claim itself (an etcd lease and record) is
// registered by registerClaims once the cycle's attempts are stored,
// before the ACCEPT.
func (f *Framework) queueEnv(env map[string]string, a job.Attempt, sp *job.TaskSpec) error {
	if !f.needsClaim(sp) {
		return nil
	}
	ctx, cancel := context.WithTimeout(f.awaited.context(), f.cfg.RequestTimeout)
	defer cancel()
	tok, err := f.cfg.Queue.Token(ctx, a.Job, a.TaskID())
	if err != nil {
		return fmt.Errorf("queue token: %w", err)
	}
	env[queue.EnvToken] = tok
	env[queue.EnvURL] = strings.TrimSuffix(f.cfg.QueueURL, "/") + "/v1/jobs/" + a.Job + "/queue"
	return nil
}

// needsClaim: instances of a work-queue task get a queue claim.
func (f *Framework) needsClaim(sp *job.TaskSpec) bool {
	return sp.WorkQueue != nil && f.cfg.Queue != nil
}

// registerClaims registers the queue claims of one offer's work-queue
// launches concurrently, once their attempts are stored, with the term's
// context and fenced by the leader's key (Config.Fence: a claim is not
// registered once leadership is lost), and returns the task ids whose
// claim could not be registered: they are not launched. Only the ACCEPT
// of that offer waits for them.
func (f *Framework) registerClaims(attempts []job.Attempt) map[string]bool {
	if len(attempts) == 0 {
		return nil
	}
	var (
		mu     sync.Mutex
		failed map[string]bool
		wg     sync.WaitGroup
		sem    = make(chan struct{}, 16)
	)
	for _, a := range attempts {
		wg.Add(1)
		sem <- struct{}{}
		go func(a job.Attempt) {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(f.awaited.context(), f.cfg.RequestTimeout)
			defer cancel()
			if _, err := f.cfg.Queue.RegisterIf(ctx, a.Job, a.TaskID(), f.cfg.Fence); err != nil {
				f.log.Warn("register queue claim; not launching", "task", a.TaskID(), "err", err)
				mu.Lock()
				if failed == nil {
					failed = map[string]bool{}
				}
				failed[a.TaskID()] = true
				mu.Unlock()
			}
		}(a)
	}
	wg.Wait()
	return failed
}

// touchQueues keeps the queue claims of running work-queue attempts
// alive, so a worker busy with a long item needs no heartbeat of its own;
// a dead worker's claims still expire (its attempt ends, or its agent is
// lost and the attempt with it).
func (f *Framework) touchQueues(ctx context.Context) {
	for _, id := range f.engine.ActiveOnWorkQueues() {
		jobID, _, _, _, err := job.ParseTaskID(id)
		if err != nil {
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
