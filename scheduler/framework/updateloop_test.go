package framework

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// heldAck is the harness's actuator with the acknowledgements of one task
// held until release is closed (started is closed when the first one of
// them is sent).
type heldAck struct {
	*recording
	task    string
	started chan struct{}
	release chan struct{}
}

func (a *heldAck) acknowledge(ctx context.Context, agentID, taskID string, uuid []byte) error {
	if taskID == a.task {
		close(a.started)
		<-a.release
	}
	return a.recording.acknowledge(ctx, agentID, taskID, uuid)
}

// TestUpdateLoopStoresNextBatchWhileAcking runs the update loop: while a
// batch's acknowledgement is in flight the next batch is stored (so its
// write does not wait for the HTTP round trip), and the next batch's
// acknowledgements go after the previous batch's, each after its store.
func TestUpdateLoopStoresNextBatchWhileAcking(t *testing.T) {
	h := newHarness(t, arrayJob("j", 2, 1))
	h.offers(mesosOffer("o1", "a1", 4, 1024))
	held := &heldAck{recording: h.rec, task: "j.t.0.0", started: make(chan struct{}), release: make(chan struct{})}
	h.f.act = held
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); h.f.updateLoop(ctx) }()
	released := false
	defer func() {
		if !released {
			close(held.release) // a failed check: let the loop end
		}
		cancel()
		<-loopDone
	}()

	// Ends (a RUNNING update's record waits: runningrecords.go).
	first := update("j.t.0.0", mesos.TASK_FINISHED, "u1")
	h.f.updates.push(&first)
	<-held.started // batch 1 stored, its acknowledgement in flight
	second := update("j.t.1.0", mesos.TASK_FINISHED, "u1")
	h.f.updates.push(&second)
	h.await("store j.t.1.0=succeeded") // batch 2 stored meanwhile
	if got := h.rec.lines(); slices.Contains(got, "ack j.t.1.0 u1") {
		t.Fatalf("batch 2 acknowledged before batch 1's acknowledgement was sent:\n%s", strings.Join(got, "\n"))
	}
	close(held.release)
	released = true
	h.await("ack j.t.1.0 u1")
	got := h.rec.lines()
	want := []string{"store j.t.0.0=succeeded", "store j.t.1.0=succeeded", "ack j.t.0.0 u1", "ack j.t.1.0 u1"}
	if tail := got[len(got)-len(want):]; !slices.Equal(tail, want) {
		t.Fatalf("effects:\n%s\nwant them to end with:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestUpdateLoopStoresRunningRecordLater runs the update loop: a RUNNING
// update is acknowledged before anything is stored, and its record is
// stored once due, by the loop's own timer.
func TestUpdateLoopStoresRunningRecordLater(t *testing.T) {
	h := newHarness(t, arrayJob("j", 1, 1))
	h.f.deferred.delay = 100 * time.Millisecond // Config.RunningRecordDelay
	h.offers(mesosOffer("o1", "a1", 1, 1024))
	h.rec.log = nil
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); h.f.updateLoop(ctx) }()
	defer func() { cancel(); <-loopDone }()

	running := update("j.t.0.0", mesos.TASK_RUNNING, "u1")
	h.f.updates.push(&running)
	h.await("store j.t.0.0=running")
	if got, want := h.rec.lines(), []string{"ack j.t.0.0 u1", "store j.t.0.0=running"}; !slices.Equal(got, want) {
		t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
