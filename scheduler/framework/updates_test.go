package framework

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unique"
	"unsafe"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	dto "github.com/prometheus/client_model/go"
)

func staleUpdates(t *testing.T) float64 {
	t.Helper()
	var m dto.Metric
	if err := staleUpdatesTotal.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestWithoutStale(t *testing.T) {
	kills := map[string]string{"j.t.0.0": "a1", "j.t.1.0": "a1", "j.t.2.0": "a2", "j.t.3.0": "a2", "j.t.4.0": "a1"}
	stored := map[string]job.Attempt{
		"j.t.0.0": {State: job.AttemptSucceeded, MesosState: "TASK_FINISHED"}, // ended for good: stale
		"j.t.1.0": {State: job.AttemptKilled, MesosState: "TASK_KILLED"},      // ended for good: stale
		"j.t.2.0": {State: job.AttemptLost, MesosState: "TASK_UNREACHABLE"},   // may run again: kill
		"j.t.3.0": {State: job.AttemptRunning, MesosState: "TASK_RUNNING"},    // still running: kill
		// j.t.4.0 has no record: kill
	}
	keep, stale := withoutStale(kills, stored)
	if want := []string{"j.t.0.0", "j.t.1.0"}; !slices.Equal(stale, want) {
		t.Errorf("stale %v, want %v", stale, want)
	}
	if len(keep) != 3 || keep["j.t.2.0"] != "a2" || keep["j.t.3.0"] != "a2" || keep["j.t.4.0"] != "a1" {
		t.Errorf("kept %v, want j.t.2.0, j.t.3.0 and j.t.4.0", keep)
	}
}

func TestAckLedger(t *testing.T) {
	var l ackLedger
	if l.duplicate("j.t.0.0", []byte("u1"), 1) {
		t.Fatal("an update never acknowledged is a duplicate")
	}
	l.acked("j.t.0.0", []byte("u1"), 5) // sent when 5 updates had come
	for _, tc := range []struct {
		task, uuid string
		seq        uint64
		want       bool
	}{
		{"j.t.0.0", "u1", 3, true},  // received before the ack was sent
		{"j.t.0.0", "u1", 5, true},  // the last one received before it
		{"j.t.0.0", "u1", 6, false}, // received after: the ack may have been lost
		{"j.t.0.0", "u2", 4, false}, // another update of the task
		{"j.t.1.0", "u1", 4, false}, // another task
	} {
		if got := l.duplicate(tc.task, []byte(tc.uuid), tc.seq); got != tc.want {
			t.Errorf("%s/%s #%d: duplicate %v, want %v", tc.task, tc.uuid, tc.seq, got, tc.want)
		}
	}
}

// remembered is how many acknowledgements l holds.
func remembered(l *ackLedger) int { return len(l.sent) + len(l.previous) }

// The ledger remembers the last ackLedgerGeneration acknowledgements at
// least and twice that at most, then lets the oldest go a generation at a
// time.
func TestAckLedgerForgetsTheOldestGeneration(t *testing.T) {
	var l ackLedger
	task := func(i int) string { return "j.t." + strconv.Itoa(i) + ".0" }
	for i := range 2 * ackLedgerGeneration {
		l.acked(task(i), []byte("u"), uint64(i+1))
	}
	if n := remembered(&l); n != 2*ackLedgerGeneration {
		t.Fatalf("after %d acknowledgements the ledger holds %d, want all", 2*ackLedgerGeneration, n)
	}
	if !l.duplicate(task(0), []byte("u"), 1) || !l.duplicate(task(2*ackLedgerGeneration-1), []byte("u"), 1) {
		t.Fatal("the oldest or the newest acknowledgement is forgotten while the ledger has room")
	}
	l.acked(task(2*ackLedgerGeneration), []byte("u"), uint64(2*ackLedgerGeneration+1))
	if n := remembered(&l); n != ackLedgerGeneration+1 {
		t.Fatalf("one past the bound, the ledger holds %d, want %d", n, ackLedgerGeneration+1)
	}
	if l.duplicate(task(ackLedgerGeneration-1), []byte("u"), 1) {
		t.Error("the oldest generation is still remembered")
	}
	for _, i := range []int{ackLedgerGeneration, 2*ackLedgerGeneration - 1, 2 * ackLedgerGeneration} {
		if !l.duplicate(task(i), []byte("u"), 1) {
			t.Errorf("acknowledgement %d of the last two generations is forgotten", i)
		}
	}
	// Acknowledged again: the newer record is the one read.
	l.acked(task(ackLedgerGeneration), []byte("u"), 7*ackLedgerGeneration)
	if !l.duplicate(task(ackLedgerGeneration), []byte("u"), 6*ackLedgerGeneration) {
		t.Error("an update acknowledged again is read by its first acknowledgement")
	}
}

// blockingStore holds PutAttempts until released.
type blockingStore struct {
	*store.Memory
	release chan struct{}
}

func (b *blockingStore) PutAttempts(ctx context.Context, as []job.Attempt) error {
	<-b.release
	return b.Memory.PutAttempts(ctx, as)
}

// An agent resends an update while the first copy waits to be stored (its
// retry timer, or a re-registration): Gleaner acknowledges it once, not
// once per copy (the agent calls the second "unexpected"). A copy that
// comes after the acknowledgement was sent is acknowledged again: the
// first acknowledgement may have been lost.
func TestDuplicateDeliveryAcknowledgedOnce(t *testing.T) {
	m := newScriptedMaster()
	st := &blockingStore{Memory: store.NewMemory(), release: make(chan struct{})}
	f := runFrameworkOn(t, m, st, loadRunning(t, 1), Config{})
	await(t, "the subscription", f.Connected)
	m.reliableUpdate("j.t.0.0", mesos.TASK_FINISHED, "u1")
	m.reliableUpdate("j.t.0.0", mesos.TASK_FINISHED, "u1") // the agent's resend
	await(t, "both copies received", func() bool { return f.updates.arrived() == 2 })
	close(st.release)
	await(t, "the acknowledgement", func() bool { return len(m.acked()) > 0 })
	m.reliableUpdate("j.t.0.1", mesos.TASK_RUNNING, "marker") // processed after both copies
	await(t, "the marker's acknowledgement", func() bool { return slices.Contains(m.acked(), "j.t.0.1/marker") })
	if got := m.acked(); !slices.Equal(got, []string{"j.t.0.0/u1", "j.t.0.1/marker"}) {
		t.Fatalf("acknowledgements %v, want u1 once, then the marker", got)
	}
	m.reliableUpdate("j.t.0.0", mesos.TASK_FINISHED, "u1") // after the ack: acknowledged again
	await(t, "the late copy acknowledged", func() bool { return len(m.acked()) == 3 })
	if got := m.acked(); got[2] != "j.t.0.0/u1" {
		t.Fatalf("acknowledgements %v", got)
	}
}

// After a failover the new leader learns a task's end from its explicit
// reconciliation (no uuid), then the agent resends the TASK_RUNNING the
// previous leader stored but never acknowledged: that copy is stale and the
// finished task gets no KILL. A task that ended lost (it may run again)
// still gets one.
func TestStaleRunningOfAnEndedTaskNotKilled(t *testing.T) {
	m := newScriptedMaster()
	f := runFramework(t, m, loadRunning(t, 2), Config{})
	await(t, "the subscription", f.Connected)
	m.update("j.t.0.0", mesos.TASK_FINISHED)    // the reconciliation's answer
	m.update("j.t.1.0", mesos.TASK_UNREACHABLE) // requeued, lost
	await(t, "both ends committed", func() bool { return len(f.engine.Active()) == 0 })
	stale := staleUpdates(t)
	m.reliableUpdate("j.t.0.0", mesos.TASK_RUNNING, "r0") // resent by the agent
	await(t, "the resent update judged stale", func() bool { return staleUpdates(t) == stale+1 })
	m.reliableUpdate("j.t.1.0", mesos.TASK_RUNNING, "r1") // back from the partition
	await(t, "the task back from the partition killed", func() bool {
		_, kills, _ := m.snapshot()
		return slices.Contains(kills, "j.t.1.0")
	})
	if _, kills, _ := m.snapshot(); slices.Contains(kills, "j.t.0.0") {
		t.Fatalf("KILL sent for a finished task: %v", kills)
	}
	await(t, "both resent updates acknowledged", func() bool {
		a := m.acked()
		return slices.Contains(a, "j.t.0.0/r0") && slices.Contains(a, "j.t.1.0/r1")
	})
}

// Updates from one agent share one copy of its id.
func TestToStatusInternsTheAgentID(t *testing.T) {
	status := func(agent string) engine.Status {
		return toStatus(&mesos.TaskStatus{TaskID: mesos.TaskID{Value: "j.t.0.0"}, State: mesos.TASK_RUNNING.Enum(),
			AgentID: &mesos.AgentID{Value: agent}})
	}
	// The interned copy lives while a handle to it does: held keeps it
	// across a collection between the two updates.
	held := unique.Make("agent-7")
	a, b := status(strings.Clone("agent-7")), status(strings.Clone("agent-7"))
	if a.AgentID != "agent-7" || unsafe.StringData(a.AgentID) != unsafe.StringData(b.AgentID) {
		t.Fatalf("agent ids %q and %q are separate copies", a.AgentID, b.AgentID)
	}
	runtime.KeepAlive(held)
	if c := status("agent-8"); c.AgentID != "agent-8" {
		t.Fatalf("agent id %q, want agent-8", c.AgentID)
	}
}
