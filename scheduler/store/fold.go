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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, TxnConcurrency)
	errc := make(chan error, (len(as)+MaxOpsPerTxn-1)/MaxOpsPerTxn)
	n := 0
	for start := 0; start < len(as); start += MaxOpsPerTxn {
		chunk := as[start:min(start+MaxOpsPerTxn, len(as))]
		n++
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			ops := make([]clientv3.Op, len(chunk))
			for i := range chunk {
				ops[i] = clientv3.OpDelete(e.attemptKey(&chunk[i]))
			}
			ok, err := e.txn(ctx, nil, ops)
			switch {
			case err != nil:
				errc <- fmt.Errorf("delete %d attempts: %w", len(chunk), err)
			case !ok:
				errc <- fmt.Errorf("delete %d attempts: %w", len(chunk), ErrNotLeader)
			default:
				errc <- nil
			}
		}()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// DeleteAttempts deletes the records.
func (m *Memory) DeleteAttempts(ctx context.Context, as []job.Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return err
	}
	for i := range as {
		delete(m.attempts[as[i].Job], as[i].TaskID())
	}
	if len(as) > 0 {
		m.notify(as[0].Job)
	}
	return nil
}
