package framework

import (
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
