package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// AttemptDeleter removes attempt records: after a job succeeded, the
// records of instances folded into index ranges (job.Job.Folded, written
// first) go, so etcd keeps ranges rather than a record per instance.
type AttemptDeleter interface {
	DeleteAttempts(ctx context.Context, as []job.Attempt) error
	// DeleteFolded deletes the records of the job's instances that f
	// folds: their attempt 0 (a later attempt of the instance stays, and
	// counts as its record). It returns how many records went.
	DeleteFolded(ctx context.Context, jobID string, f job.Folds) (int, error)
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
	keys := make([]string, len(chunk))
	for i := range chunk {
		keys[i] = e.attemptKey(&chunk[i])
	}
	return e.deleteKeys(ctx, keys)
}

// deleteKeys deletes attempt records by key in one fenced transaction.
func (e *Etcd) deleteKeys(ctx context.Context, keys []string) error {
	ops := make([]clientv3.Op, len(keys))
	for i := range keys {
		ops[i] = clientv3.OpDelete(keys[i])
	}
	ok, err := e.txn(ctx, nil, ops)
	switch {
	case err != nil:
		return fmt.Errorf("delete %d attempts: %w", len(keys), err)
	case !ok:
		return fmt.Errorf("delete %d attempts: %w", len(keys), ErrNotLeader)
	}
	return nil
}

// DeleteFolded reads the job's keys only (no record is decoded), a page
// of AttemptPageSize at a time at one revision, and deletes the folded
// instances' records as DeleteAttempts does, page by page.
func (e *Etcd) DeleteFolded(ctx context.Context, jobID string, f job.Folds) (int, error) {
	prefix := e.attemptPrefix(jobID)
	end := clientv3.GetPrefixRangeEnd(prefix)
	key, rev, deleted := prefix, int64(0), 0
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(e.attemptPageSize()), clientv3.WithKeysOnly()}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := e.cli.Get(ctx, key, opts...)
		if err != nil {
			return deleted, fmt.Errorf("delete folded attempts of job %s: %w", jobID, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		// The keys as read, not records: job.Attempt values made only to
		// carry job, task and index held 14 MB for a page of 20,000.
		gone := make([]string, 0, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			task, index, attempt, ok := parseAttemptKey(string(kv.Key[len(prefix):]))
			if ok && attempt == 0 && f.Has(task, index) {
				gone = append(gone, string(kv.Key))
			}
		}
		if err := inChunks(ctx, gone, e.deleteKeys); err != nil {
			return deleted, err
		}
		deleted += len(gone)
		if !resp.More || len(resp.Kvs) == 0 {
			return deleted, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// parseAttemptKey splits "<task>/<index>/<attempt>" (the part of an
// attempt key after the job's prefix).
func parseAttemptKey(k string) (task string, index, attempt int, ok bool) {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return "", 0, 0, false
	}
	j := strings.LastIndexByte(k[:i], '/')
	if j < 0 {
		return "", 0, 0, false
	}
	index, err1 := strconv.Atoi(k[j+1 : i])
	attempt, err2 := strconv.Atoi(k[i+1:])
	return k[:j], index, attempt, err1 == nil && err2 == nil
}

// DeleteFolded deletes the folded instances' attempt 0.
func (m *Memory) DeleteFolded(ctx context.Context, jobID string, f job.Folds) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return 0, err
	}
	deleted := 0
	var chs []AttemptChange
	for k, byNumber := range m.attempts[jobID] {
		if _, ok := byNumber[0]; ok && f.Has(k.task, k.index) {
			delete(byNumber, 0)
			deleted++
			chs = append(chs, AttemptChange{Deleted: true, Attempt: job.Attempt{Job: jobID, Task: k.task, Index: k.index}})
		}
	}
	m.changed(chs)
	if deleted > 0 {
		m.notify(jobID)
	}
	return deleted, nil
}

// DeleteAttempts deletes the records.
func (m *Memory) DeleteAttempts(ctx context.Context, as []job.Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fenced(); err != nil {
		return err
	}
	var chs []AttemptChange
	for i := range as {
		byNumber := m.attempts[as[i].Job][instanceKey{as[i].Task, as[i].Index}]
		if _, ok := byNumber[as[i].Attempt]; ok {
			delete(byNumber, as[i].Attempt)
			chs = append(chs, AttemptChange{Deleted: true, Attempt: job.Attempt{Job: as[i].Job, Task: as[i].Task, Index: as[i].Index, Attempt: as[i].Attempt}})
		}
	}
	m.changed(chs)
	if len(as) > 0 {
		m.notify(as[0].Job)
	}
	return nil
}
