package store

import (
	"context"
	"fmt"

	"github.com/gleaner-project/gleaner/scheduler/job"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// AttemptDeleter removes attempt records: after a job succeeded, the
// records of instances folded into index ranges (job.Job.Folded, written
// first) go, so etcd keeps ranges rather than a record per instance.
type AttemptDeleter interface {
	DeleteAttempts(ctx context.Context, as []job.Attempt) error
}

var (
	_ AttemptDeleter = (*Etcd)(nil)
	_ AttemptDeleter = (*Memory)(nil)
)

// DeleteAttempts deletes the records in fenced transactions of at most
// MaxOpsPerTxn deletes, TxnConcurrency in flight.
func (e *Etcd) DeleteAttempts(ctx context.Context, as []job.Attempt) error {
	return inChunks(ctx, as, e.deleteChunk)
}

func (e *Etcd) deleteChunk(ctx context.Context, chunk []job.Attempt) error {
	ops := make([]clientv3.Op, len(chunk))
	for i := range chunk {
		ops[i] = clientv3.OpDelete(e.attemptKey(&chunk[i]))
	}
	ok, err := e.txn(ctx, nil, ops)
	switch {
	case err != nil:
		return fmt.Errorf("delete %d attempts: %w", len(chunk), err)
	case !ok:
		return fmt.Errorf("delete %d attempts: %w", len(chunk), ErrNotLeader)
	}
	return nil
}

// DeleteAttempts deletes the records.
func (m *Memory) DeleteAttempts(ctx context.Context, as []job.Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return err
	}
	for i := range as {
		delete(m.attempts[as[i].Job][instanceKey{as[i].Task, as[i].Index}], as[i].Attempt)
	}
	if len(as) > 0 {
		m.notify(as[0].Job)
	}
	return nil
}
