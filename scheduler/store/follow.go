package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// AttemptFollower lets a reader scan a job's attempt records once and then
// follow their changes instead of reading them all again (the events
// detector, issue 16).
type AttemptFollower interface {
	// ScanAttemptsAt is ScanAttempts, and returns the revision it read at:
	// the changes after it are the watch's from that revision + 1.
	ScanAttemptsAt(ctx context.Context, jobID string, fn func([]job.Attempt) error) (int64, error)
	// WatchAttempts sends the changes of every job's attempt records from
	// revision fromRev on, in batches, oldest first, until ctx ends; then
	// it closes the channel. When it cannot go on (the revisions were
	// compacted: ErrCompacted; or another error) it sends a batch with Err
	// set and closes the channel.
	WatchAttempts(ctx context.Context, fromRev int64) <-chan AttemptChanges
}

var (
	_ AttemptFollower = (*Etcd)(nil)
	_ AttemptFollower = (*Memory)(nil)
)

// ErrCompacted means a watch asked for revisions the store no longer keeps.
var ErrCompacted = errors.New("watched revisions compacted")

// AttemptChanges is a batch of changes of attempt records.
type AttemptChanges struct {
	Changes []AttemptChange
	// Err ends the watch: the last batch sent.
	Err error
}

// AttemptChange is a put or a delete of one attempt record.
type AttemptChange struct {
	Rev     int64 // the revision that made the change
	Deleted bool
	// Attempt is the record put; of a delete, its Job, Task, Index and
	// Attempt only.
	Attempt job.Attempt
}

// ScanAttemptsAt reads as ScanAttempts does and returns the revision.
func (e *Etcd) ScanAttemptsAt(ctx context.Context, jobID string, fn func([]job.Attempt) error) (int64, error) {
	return e.scanAttempts(ctx, e.attemptPrefix(jobID), fn)
}

// followBuffer is how many batches a watch holds for a slow reader before
// it waits (etcd then holds the rest).
const followBuffer = 4

// WatchAttempts is one etcd watch of the attempts prefix from fromRev; a
// put's value is decoded, a delete is named by its key.
func (e *Etcd) WatchAttempts(ctx context.Context, fromRev int64) <-chan AttemptChanges {
	out := make(chan AttemptChanges, followBuffer)
	prefix := e.prefix + "attempts/"
	wch := e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev))
	go func() {
		defer close(out)
		names := interner{}
		send := func(b AttemptChanges) bool {
			select {
			case out <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for resp := range wch {
			if resp.CompactRevision != 0 {
				send(AttemptChanges{Err: fmt.Errorf("watch attempts from revision %d: %w (compacted at %d)", fromRev, ErrCompacted, resp.CompactRevision)})
				return
			}
			if err := resp.Err(); err != nil {
				send(AttemptChanges{Err: fmt.Errorf("watch attempts: %w", err)})
				return
			}
			if len(names) > 4096 {
				names = interner{}
			}
			b := AttemptChanges{Changes: make([]AttemptChange, 0, len(resp.Events))}
			for _, ev := range resp.Events {
				c := AttemptChange{Rev: ev.Kv.ModRevision}
				key := string(ev.Kv.Key[len(prefix):])
				if ev.Type == mvccpb.DELETE {
					a, ok := attemptOfKey(key)
					if !ok {
						continue
					}
					c.Deleted, c.Attempt = true, a
				} else if err := json.Unmarshal(ev.Kv.Value, &c.Attempt); err != nil {
					send(AttemptChanges{Err: fmt.Errorf("decode attempt %s: %w", ev.Kv.Key, err)})
					return
				}
				names.attempt(&c.Attempt)
				b.Changes = append(b.Changes, c)
			}
			if len(b.Changes) > 0 && !send(b) {
				return
			}
		}
		if ctx.Err() == nil {
			send(AttemptChanges{Err: errors.New("watch attempts: the watch ended")})
		}
	}()
	return out
}

// attemptOfKey names the attempt of "<job>/<task>/<index>/<attempt>".
func attemptOfKey(k string) (job.Attempt, bool) {
	i := strings.IndexByte(k, '/')
	if i < 0 {
		return job.Attempt{}, false
	}
	task, index, attempt, ok := parseAttemptKey(k[i+1:])
	return job.Attempt{Job: k[:i], Task: task, Index: index, Attempt: attempt}, ok
}

// Memory keeps the last memoryHistory attempt changes for watches that
// start at an earlier revision; older ones are compacted.
const memoryHistory = 10_000

// memoryFollowerLimit is how many changes a memory watch holds for a
// reader that does not take them; past it the watch ends (ErrCompacted).
const memoryFollowerLimit = 100_000

type memoryFollower struct {
	out     chan AttemptChanges
	pending []AttemptChange
	sending bool // the goroutine holds a batch taken from pending
	err     error
	ended   bool // err was handed over: the goroutine ends
	wake    chan struct{}
}

// ScanAttemptsAt hands fn every attempt of the job, read with the
// revision, in one call.
func (m *Memory) ScanAttemptsAt(ctx context.Context, jobID string, fn func([]job.Attempt) error) (int64, error) {
	m.mu.Lock()
	rev := m.rev
	out := []job.Attempt{}
	for _, byNumber := range m.attempts[jobID] {
		for _, a := range byNumber {
			out = append(out, a)
		}
	}
	m.mu.Unlock()
	if len(out) == 0 {
		return rev, nil
	}
	SortAttempts(out)
	return rev, fn(out)
}

// CompactAttemptHistory forgets the attempt changes kept for watches, as
// an etcd compaction does: a watch from an earlier revision gets
// ErrCompacted.
func (m *Memory) CompactAttemptHistory() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.historyFloor = m.rev
	m.history = nil
	for f := range m.followers {
		if f.err != nil {
			continue
		}
		f.pending, f.err = nil, fmt.Errorf("watch attempts: %w", ErrCompacted)
		if !f.sending {
			// Handed over at once, as changes are (see changed).
			select {
			case f.out <- AttemptChanges{Err: f.err}:
				f.ended = true
			default:
			}
		}
		wakeUp(f.wake)
	}
}

// changed records the attempt changes of one write (m.mu held): a new
// revision for them, the history, and every watch.
func (m *Memory) changed(chs []AttemptChange) {
	if len(chs) == 0 {
		return
	}
	m.rev++
	for i := range chs {
		chs[i].Rev = m.rev
	}
	m.history = append(m.history, chs...)
	if len(m.history) > 2*memoryHistory {
		drop := len(m.history) - memoryHistory
		m.historyFloor = m.history[drop-1].Rev
		m.history = append([]AttemptChange(nil), m.history[drop:]...)
	}
	for f := range m.followers {
		if f.err != nil {
			continue
		}
		if len(f.pending) == 0 && !f.sending {
			// Handed over before the write returns when the reader
			// keeps up: a reader after the write sees it (tests poll so).
			select {
			case f.out <- AttemptChanges{Changes: chs}:
				continue
			default:
			}
		}
		if len(f.pending)+len(chs) > memoryFollowerLimit {
			f.pending, f.err = nil, fmt.Errorf("watch attempts: %d changes not taken: %w", memoryFollowerLimit, ErrCompacted)
		} else {
			f.pending = append(f.pending, chs...)
		}
		wakeUp(f.wake)
	}
}

func wakeUp(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// WatchAttempts follows the memory store's attempt changes from fromRev.
func (m *Memory) WatchAttempts(ctx context.Context, fromRev int64) <-chan AttemptChanges {
	out := make(chan AttemptChanges, followBuffer)
	f := &memoryFollower{out: out, wake: make(chan struct{}, 1)}
	m.mu.Lock()
	if fromRev <= m.historyFloor {
		f.err = fmt.Errorf("watch attempts from revision %d: %w (kept from %d)", fromRev, ErrCompacted, m.historyFloor+1)
	} else {
		for _, c := range m.history {
			if c.Rev >= fromRev {
				f.pending = append(f.pending, c)
			}
		}
	}
	if m.followers == nil {
		m.followers = map[*memoryFollower]struct{}{}
	}
	m.followers[f] = struct{}{}
	m.mu.Unlock()
	wakeUp(f.wake)
	go func() {
		defer close(out) // after it is no longer a follower: changed sends to out
		defer func() {
			m.mu.Lock()
			delete(m.followers, f)
			m.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			}
			m.mu.Lock()
			if f.ended {
				m.mu.Unlock()
				return
			}
			b := AttemptChanges{Changes: f.pending, Err: f.err}
			f.pending = nil
			f.sending = len(b.Changes) > 0 || b.Err != nil
			m.mu.Unlock()
			if !f.sending {
				continue
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
			m.mu.Lock()
			f.sending = false
			m.mu.Unlock()
			if b.Err != nil {
				return
			}
		}
	}()
	return out
}
