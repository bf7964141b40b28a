package store

import (
	"context"
	"fmt"

	"github.com/gleaner-project/gleaner/scheduler/job"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// JobDeleter removes a job's record and all its attempt records at once
// (job delete, garbage collection of finished jobs, cron history limits).
// Deciding that a job may go — it has finished — is the caller's.
type JobDeleter interface {
	// DeleteJob deletes the job and its attempts in one fenced transaction;
	// ErrNotFound if there is no such job, ErrNotLeader once fenced off.
	DeleteJob(ctx context.Context, id string) error
}

var (
	_ JobDeleter = (*Etcd)(nil)
	_ JobDeleter = (*Memory)(nil)
)

// DeleteJob deletes the job key and the attempts prefix in one
// transaction that holds only while the job exists and the term lasts.
func (e *Etcd) DeleteJob(ctx context.Context, id string) error {
	k := e.jobKey(id)
	ok, err := e.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k), ">", 0)},
		[]clientv3.Op{clientv3.OpDelete(k), clientv3.OpDelete(e.attemptPrefix(id), clientv3.WithPrefix())})
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	if !ok {
		if held, err := e.fenceHolds(ctx); err == nil && !held {
			return fmt.Errorf("delete job %s: %w", id, ErrNotLeader)
		}
		return fmt.Errorf("delete job %s: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteJob deletes the job and its attempts, as Etcd does.
func (m *Memory) DeleteJob(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	if _, ok := m.jobs[id]; !ok {
		return fmt.Errorf("delete job %s: %w", id, ErrNotFound)
	}
	var chs []AttemptChange
	for k, byNumber := range m.attempts[id] {
		for n := range byNumber {
			chs = append(chs, AttemptChange{Deleted: true, Attempt: job.Attempt{Job: id, Task: k.task, Index: k.index, Attempt: n}})
		}
	}
	delete(m.jobs, id)
	delete(m.revs, id)
	delete(m.attempts, id)
	m.changed(chs)
	m.notify(id)
	return nil
}
