package framework

import (
	"fmt"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func queuedStatus(task, uuid string) *mesos.TaskStatus {
	s := &mesos.TaskStatus{TaskID: mesos.TaskID{Value: task}, State: mesos.TASK_FINISHED.Enum()}
	if uuid != "" {
		s.UUID = []byte(uuid)
	}
	return s
}

// An agent resending an update the scheduler has not acknowledged yet must
// not grow the backlog: a copy of a queued update is dropped.
func TestUpdateQueueDropsCopiesOfQueuedUpdates(t *testing.T) {
	q := newUpdateQueue()
	q.push(queuedStatus("a", "u1"))
	q.push(queuedStatus("b", "u1"))
	q.push(queuedStatus("a", "u1")) // the agent's retry: dropped
	q.push(queuedStatus("a", "u2")) // a later update of a: kept
	q.push(queuedStatus("a", ""))   // master-made (reconciliation): never dropped
	q.push(queuedStatus("a", ""))
	q.push(queuedStatus("b", "u1")) // dropped
	if got := q.received(); got != 5 {
		t.Fatalf("received %d updates, want 5 (2 copies dropped)", got)
	}
	if q.dropped != 2 {
		t.Fatalf("dropped %d copies, want 2", q.dropped)
	}
	batch, first := q.take(3)
	if len(batch) != 3 || first != 1 {
		t.Fatalf("take(3) = %d updates from %d, want 3 from 1", len(batch), first)
	}
	// Taken but not acknowledged yet: a copy is queued again, numbered
	// after the original (the ack ledger decides whether to ack it).
	q.push(queuedStatus("a", "u1"))
	q.push(queuedStatus("a", "u1")) // that copy is queued: dropped
	rest, first := q.take(10)
	want := []struct{ task, uuid string }{{"a", ""}, {"a", ""}, {"a", "u1"}}
	if len(rest) != len(want) || first != 4 {
		t.Fatalf("take(10) = %d updates from %d, want %d from 4", len(rest), first, len(want))
	}
	for i, w := range want {
		if rest[i].status.TaskID != w.task || string(rest[i].uuid) != w.uuid {
			t.Errorf("update %d = %s/%q, want %s/%q", i, rest[i].status.TaskID, rest[i].uuid, w.task, w.uuid)
		}
	}
	if q.queued != nil {
		t.Errorf("drained queue keeps its index of %d keys", len(q.queued))
	}
}

// Updates come out in the order they went in, whatever the takes' sizes
// against the queue's blocks, and the queue holds its updates and at most
// one block more.
func TestUpdateQueueBlocks(t *testing.T) {
	q := newUpdateQueue()
	next, want := 0, 0
	push := func(n int) {
		for range n {
			q.push(queuedStatus(fmt.Sprintf("t%d", next), fmt.Sprintf("u%d", next)))
			next++
		}
	}
	take := func(n int) {
		batch, first := q.take(n)
		if first != uint64(want+1) {
			t.Fatalf("take(%d) from %d, want from %d", n, first, want+1)
		}
		for _, u := range batch {
			if got := u.status.TaskID; got != fmt.Sprintf("t%d", want) {
				t.Fatalf("update %d is %s, want t%d", first, got, want)
			}
			want++
		}
		held := 0
		for _, b := range q.blocks {
			held += cap(b)
		}
		if limit := q.waiting() + 2*updateBlock; held > limit {
			t.Fatalf("%d updates wait in blocks holding %d (more than %d)", q.waiting(), held, limit)
		}
	}
	push(1300)
	take(100)
	take(600)
	push(5)
	take(2000)
	push(updateBlock)
	take(updateBlock / 2)
	push(3 * updateBlock)
	take(updateBlock)
	take(10 * updateBlock)
	if want != next || q.waiting() != 0 || q.blocks != nil || q.queued != nil {
		t.Fatalf("took %d of %d; %d wait, blocks %v, index of %d", want, next, q.waiting(), q.blocks != nil, len(q.queued))
	}
}
