package framework

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// A RUNNING update is acknowledged at once and its record stored
// Config.RunningRecordDelay later, as the engine holds it (start time included),
// unless the task's end was stored first; a record that cannot be stored
// waits for the next try.
func TestRunningRecordWaits(t *testing.T) {
	type step struct {
		updates   []mesos.TaskStatus // a batch through the update path
		flushAt   time.Duration      // else: the deferred records due this long after the batches
		failStore bool
	}
	running := func(i int, uuid string) mesos.TaskStatus {
		return update("j.t."+string(rune('0'+i))+".0", mesos.TASK_RUNNING, uuid)
	}
	finished := func(i int, uuid string) mesos.TaskStatus {
		return update("j.t."+string(rune('0'+i))+".0", mesos.TASK_FINISHED, uuid)
	}
	cases := []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name:  "stored once due, not before",
			steps: []step{{updates: []mesos.TaskStatus{running(0, "r0")}}, {flushAt: DefaultRunningRecordDelay / 2}, {flushAt: DefaultRunningRecordDelay}},
			want:  []string{"ack j.t.0.0 r0", "store j.t.0.0=running"},
		},
		{
			name: "the end stored first supersedes it",
			steps: []step{{updates: []mesos.TaskStatus{running(0, "r0"), running(1, "r1")}}, {updates: []mesos.TaskStatus{finished(0, "f0")}},
				{flushAt: DefaultRunningRecordDelay}},
			want: []string{"ack j.t.0.0 r0", "ack j.t.1.0 r1", "store j.t.0.0=succeeded", "ack j.t.0.0 f0", "store j.t.1.0=running"},
		},
		{
			name: "a failed write is tried again",
			steps: []step{{updates: []mesos.TaskStatus{running(0, "r0")}}, {flushAt: DefaultRunningRecordDelay, failStore: true},
				{flushAt: DefaultRunningRecordDelay}, {flushAt: 2 * DefaultRunningRecordDelay}},
			want: []string{"ack j.t.0.0 r0", "store FAILED j.t.0.0=running", "store j.t.0.0=running"},
		},
		{
			name:  "a copy of RUNNING while one waits: one record",
			steps: []step{{updates: []mesos.TaskStatus{running(0, "r0")}}, {updates: []mesos.TaskStatus{running(0, "r0b")}}, {flushAt: DefaultRunningRecordDelay}, {flushAt: 3 * DefaultRunningRecordDelay}},
			want:  []string{"ack j.t.0.0 r0", "ack j.t.0.0 r0b", "store j.t.0.0=running"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, arrayJob("j", 2, 1))
			h.offers(mesosOffer("o1", "a1", 2, 1024))
			h.rec.log = nil
			var last time.Time
			for _, s := range tc.steps {
				h.rec.failStore = s.failStore
				if s.updates != nil {
					h.updates(s.updates...)
					last = time.Now()
					continue
				}
				h.f.storeDeferredRunning(context.Background(), last.Add(s.flushAt))
			}
			if got := h.rec.lines(); !slices.Equal(got, tc.want) {
				t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			// Every record stored or superseded: nothing waits, and the
			// index (a map keeps its largest buckets) is let go.
			if h.f.deferred.since != nil || h.f.deferred.order != nil {
				t.Errorf("nothing waits, yet the index holds %d tasks and the order %d", len(h.f.deferred.since), len(h.f.deferred.order))
			}
		})
	}
}

// The running record stored late is the engine's: running, with the
// start time of the update.
func TestRunningRecordCarriesStart(t *testing.T) {
	h := newHarness(t, arrayJob("j", 1, 1))
	h.offers(mesosOffer("o1", "a1", 1, 1024))
	started := time.Unix(1700000000, 0).UTC()
	u := update("j.t.0.0", mesos.TASK_RUNNING, "r0")
	u.Timestamp = proto(float64(started.Unix()))
	h.updates(u)
	h.f.storeDeferredRunning(context.Background(), time.Now().Add(DefaultRunningRecordDelay))
	as, err := h.rec.Store.Attempts(context.Background(), "j")
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].State != job.AttemptRunning || !as[0].Started.Equal(started) {
		t.Fatalf("stored %+v, want one running record started %v", as, started)
	}
}
