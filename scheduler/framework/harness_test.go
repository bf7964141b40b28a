package framework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// recording is the harness's actuator and store: it records every effect
// of the offer and update paths, in order, as one line each, and can be
// told to fail the store's writes.
type recording struct {
	store.Store
	mu        sync.Mutex
	log       []string
	failStore bool
}

func (r *recording) add(format string, args ...any) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recording) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.log)
	// ACCEPTs go out concurrently: their relative order is not decided.
	sortRuns(out, "accept ")
	return out
}

// sortRuns sorts each run of consecutive lines with the prefix.
func sortRuns(lines []string, prefix string) {
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && strings.HasPrefix(lines[j], prefix) {
			j++
		}
		if j > i {
			sort.Strings(lines[i:j])
			i = j
		} else {
			i++
		}
	}
}

func (r *recording) PutAttempts(ctx context.Context, as []job.Attempt) error {
	ids := make([]string, len(as))
	for i := range as {
		ids[i] = as[i].TaskID() + "=" + string(as[i].State)
	}
	sort.Strings(ids)
	if r.failStore {
		r.add("store FAILED %s", strings.Join(ids, " "))
		return errors.New("etcd away")
	}
	r.add("store %s", strings.Join(ids, " "))
	return r.Store.PutAttempts(ctx, as)
}

func (r *recording) accept(_ context.Context, offer mesos.OfferID, tasks []mesos.TaskInfo, refuse time.Duration) error {
	ids := make([]string, len(tasks))
	for i := range tasks {
		ids[i] = tasks[i].TaskID.Value
	}
	sort.Strings(ids)
	r.add("accept %s %s refuse=%s", offer.Value, strings.Join(ids, " "), refuse)
	return nil
}

func (r *recording) decline(_ context.Context, offers []mesos.OfferID, refuse time.Duration) error {
	ids := make([]string, len(offers))
	for i := range offers {
		ids[i] = offers[i].Value
	}
	sort.Strings(ids)
	r.add("decline %s refuse=%s", strings.Join(ids, " "), refuse)
	return nil
}

func (r *recording) suppress(context.Context) error { r.add("suppress"); return nil }

func (r *recording) kill(_ context.Context, taskID, agentID string) error {
	r.add("kill %s on %s", taskID, agentID)
	return nil
}

func (r *recording) acknowledge(_ context.Context, agentID, taskID string, uuid []byte) error {
	r.add("ack %s %s", taskID, uuid)
	return nil
}

// harness is a framework wired to a recording actuator and store, with an
// engine holding the given job, driven through the real offer and update
// paths (onOffers, processUpdates) without Mesos.
type harness struct {
	t   *testing.T
	f   *Framework
	rec *recording
}

func newHarness(t *testing.T, jobs ...*job.Job) *harness {
	t.Helper()
	rec := &recording{Store: store.NewMemory()}
	eng := engine.New(nil)
	for _, j := range jobs {
		if err := rec.Store.CreateJob(context.Background(), j); err != nil {
			t.Fatal(err)
		}
		eng.AddJob(j)
	}
	f := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RefuseSeconds: 5 * time.Second, IdleRefuse: 120 * time.Second}, rec, eng)
	f.act = rec
	return &harness{t: t, f: f, rec: rec}
}

func (h *harness) offers(os ...mesos.Offer) {
	h.t.Helper()
	if err := h.f.onOffers(context.Background(), &scheduler.Event{Offers: &scheduler.Event_Offers{Offers: os}}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) updates(sts ...mesos.TaskStatus) {
	h.t.Helper()
	for i := range sts {
		h.f.updates.push(&sts[i])
	}
	batch, first := h.f.updates.take(MaxUpdateBatch)
	h.f.processUpdates(context.Background(), batch, first)()
}

// await waits until the recorded lines contain want (effects sent from
// goroutines of the paths), with a generous deadline.
func (h *harness) await(want string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(h.rec.lines(), want) {
		if time.Now().After(deadline) {
			h.t.Fatalf("no %q; recorded:\n%s", want, strings.Join(h.rec.lines(), "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mesosOffer(id, agent string, cpus, mem float64) mesos.Offer {
	return mesos.Offer{ID: mesos.OfferID{Value: id}, AgentID: mesos.AgentID{Value: agent}, Hostname: "host-" + agent,
		FrameworkID: mesos.FrameworkID{Value: "fw"}, Resources: []mesos.Resource{scalar("cpus", cpus, ""), scalar("mem", mem, "")}}
}

func arrayJob(id string, instances int, cpus float64) *job.Job {
	return &job.Job{ID: id, Submitted: time.Unix(1, 0), Spec: job.Spec{Name: id, Tasks: []job.TaskSpec{
		{Name: "t", Command: "true", Instances: instances, Resources: job.Resources{CPUs: cpus, Mem: 16}}}}}
}

// TestOfferPath drives OFFERS through the framework and checks every
// effect and its order: attempts stored before any ACCEPT, one ACCEPT per
// offer, the rest declined with the refuse filter that fits what is still
// pending, SUPPRESS once nothing placeable is left.
func TestOfferPath(t *testing.T) {
	cases := []struct {
		name      string
		job       *job.Job
		failStore bool
		offers    []mesos.Offer
		want      []string
	}{
		{
			name:   "all placed on one offer: store, accept, suppress",
			job:    arrayJob("j", 2, 1),
			offers: []mesos.Offer{mesosOffer("o1", "a1", 4, 1024)},
			want: []string{
				"store j.t.0.0=launching j.t.1.0=launching",
				"accept o1 j.t.0.0 j.t.1.0 refuse=5s",
				"suppress",
			},
		},
		{
			name:   "an offer left unused is declined for the idle refuse time",
			job:    arrayJob("j", 1, 1),
			offers: []mesos.Offer{mesosOffer("o1", "a1", 1, 1024), mesosOffer("o2", "a2", 1, 1024)},
			want: []string{
				"store j.t.0.0=launching",
				"accept o1 j.t.0.0 refuse=5s",
				"decline o2 refuse=2m0s",
				"suppress",
			},
		},
		{
			name:   "work still pending: short refuse, no suppress",
			job:    arrayJob("j", 3, 1),
			offers: []mesos.Offer{mesosOffer("o1", "a1", 1, 1024), mesosOffer("o2", "a2", 0.5, 1024)},
			want: []string{
				"store j.t.0.0=launching",
				"accept o1 j.t.0.0 refuse=5s",
				"decline o2 refuse=5s",
			},
		},
		{
			name:   "a launch whose TaskInfo cannot be built is dropped: its offer declined briefly, no suppress",
			job:    withCleanup(arrayJob("j", 1, 1)),
			offers: []mesos.Offer{mesosOffer("o1", "a1", 4, 1024)},
			want: []string{
				"decline o1 refuse=5s",
			},
		},
		{
			name:      "store fails: nothing launched, every offer declined, work stays pending",
			job:       arrayJob("j", 1, 1),
			failStore: true,
			offers:    []mesos.Offer{mesosOffer("o1", "a1", 4, 1024)},
			want: []string{
				"store FAILED j.t.0.0=launching",
				"decline o1 refuse=5s",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.job)
			h.rec.failStore = tc.failStore
			h.offers(tc.offers...)
			if got := h.rec.lines(); !slices.Equal(got, tc.want) {
				t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestOfferPathBoundedByUpdateBacklog: an offer cycle launches no more
// than the updates waiting for the update loop leave room for (two per
// launch), and nothing at all when they are at the bound: its offers are
// then declined briefly, nothing is stored or suppressed, and the work
// stays pending for the next cycle.
func TestOfferPathBoundedByUpdateBacklog(t *testing.T) {
	cases := []struct {
		name    string
		waiting int // updates queued before the offers come
		want    []string
	}{
		{"no backlog: all three launched", 0, []string{
			"store j.t.0.0=launching j.t.1.0=launching j.t.2.0=launching",
			"accept o1 j.t.0.0 j.t.1.0 j.t.2.0 refuse=5s",
			"suppress",
		}},
		{"room for one launch", 4, []string{
			"store j.t.0.0=launching",
			"accept o1 j.t.0.0 refuse=5s",
		}},
		{"room for less than one launch", 5, []string{"decline o1 refuse=1s"}},
		{"at the bound", 6, []string{"decline o1 refuse=1s"}},
		{"over the bound", 9, []string{"decline o1 refuse=1s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, arrayJob("j", 3, 1))
			h.f.cfg.MaxUpdateBacklog = 6
			for i := range tc.waiting {
				s := update(fmt.Sprintf("other.t.%d.0", i), mesos.TASK_RUNNING, "u")
				h.f.updates.push(&s)
			}
			h.offers(mesosOffer("o1", "a1", 4, 1024))
			if got := h.rec.lines(); !slices.Equal(got, tc.want) {
				t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	// Once the loop has taken the backlog, the next cycle launches.
	h := newHarness(t, arrayJob("j", 1, 1))
	h.f.cfg.MaxUpdateBacklog = 2
	s := update("other.t.0.0", mesos.TASK_RUNNING, "u")
	h.f.updates.push(&s)
	h.offers(mesosOffer("o1", "a1", 4, 1024))
	h.f.updates.take(MaxUpdateBatch)
	h.offers(mesosOffer("o2", "a1", 4, 1024))
	want := []string{"decline o1 refuse=1s", "store j.t.0.0=launching", "accept o2 j.t.0.0 refuse=5s", "suppress"}
	if got := h.rec.lines(); !slices.Equal(got, want) {
		t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLaunchRoom(t *testing.T) {
	cases := []struct{ backlog, max, want int }{
		{0, 20_000, 10_000},
		{19_998, 20_000, 1},
		{19_999, 20_000, 0},
		{20_000, 20_000, 0},
		{50_000, 20_000, 0},
		{0, 1, 0},
	}
	for _, tc := range cases {
		if got := launchRoom(tc.backlog, tc.max); got != tc.want {
			t.Errorf("launchRoom(%d, %d) = %d, want %d", tc.backlog, tc.max, got, tc.want)
		}
	}
}

// withCleanup gives the job's task a cleanup policy the command executor
// (the harness's) cannot enforce: its TaskInfo is refused.
func withCleanup(j *job.Job) *job.Job {
	j.Spec.Tasks[0].Cleanup = "always"
	return j
}

func update(taskID string, state mesos.TaskState, uuid string) mesos.TaskStatus {
	s := mesos.TaskStatus{TaskID: mesos.TaskID{Value: taskID}, State: state.Enum(), AgentID: &mesos.AgentID{Value: "a1"}}
	if uuid != "" {
		s.UUID = []byte(uuid)
	}
	return s
}

// TestUpdatePath drives status updates of a launched instance through the
// framework: each batch is stored before it is acknowledged, a batch that
// cannot be stored is not acknowledged, a RUNNING update is acknowledged
// at once (its record waits: TestRunningRecordWaits), master-made updates
// (no uuid) and duplicate deliveries are not acknowledged, and a task
// Gleaner does not expect is killed.
func TestUpdatePath(t *testing.T) {
	cases := []struct {
		name      string
		failStore bool
		updates   []mesos.TaskStatus
		retries   int
		want      []string
		await     string // an effect sent from a goroutine
		revive    bool   // offers revived: new work to place
	}{
		{
			name:    "running then finished: stored, then acknowledged",
			updates: []mesos.TaskStatus{update("j.t.0.0", mesos.TASK_RUNNING, "u1"), update("j.t.0.0", mesos.TASK_FINISHED, "u2")},
			want:    []string{"store j.t.0.0=succeeded", "ack j.t.0.0 u1", "ack j.t.0.0 u2"},
			revive:  true, // the task completed: dependents may be ready
		},
		{
			name:    "running alone: acknowledged without a write",
			updates: []mesos.TaskStatus{update("j.t.0.0", mesos.TASK_RUNNING, "u1")},
			want:    []string{"ack j.t.0.0 u1"},
		},
		{
			name:      "store fails: not acknowledged (the agent resends)",
			failStore: true,
			updates:   []mesos.TaskStatus{update("j.t.0.0", mesos.TASK_RUNNING, "u1"), update("j.t.0.0", mesos.TASK_FINISHED, "u2")},
			want:      []string{"store FAILED j.t.0.0=succeeded"},
		},
		{
			name:    "a master-made update is stored but never acknowledged",
			updates: []mesos.TaskStatus{update("j.t.0.0", mesos.TASK_LOST, "")},
			want:    []string{"store j.t.0.0=lost"},
			revive:  true, // lost: the instance runs again
		},
		{
			name:    "a duplicate delivered before the acknowledgement is not acknowledged twice",
			updates: []mesos.TaskStatus{update("j.t.0.0", mesos.TASK_FINISHED, "u1"), update("j.t.0.0", mesos.TASK_FINISHED, "u1")},
			want:    []string{"store j.t.0.0=succeeded", "ack j.t.0.0 u1"},
			revive:  true,
		},
		{
			name:    "a failure with a retry left: stored, acknowledged, offers revived",
			retries: 1,
			updates: []mesos.TaskStatus{update("j.t.0.0", mesos.TASK_FAILED, "u1")},
			want:    []string{"store j.t.0.0=failed", "ack j.t.0.0 u1"},
			revive:  true,
		},
		{
			name:    "a running task Gleaner does not know is killed",
			updates: []mesos.TaskStatus{update("other.t.0.0", mesos.TASK_RUNNING, "u9")},
			await:   "kill other.t.0.0 on a1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := arrayJob("j", 1, 1)
			j.Spec.Tasks[0].Retries = tc.retries
			h := newHarness(t, j)
			h.offers(mesosOffer("o1", "a1", 1, 1024))
			h.rec.log = nil
			h.rec.failStore = tc.failStore
			select {
			case <-h.f.revive:
			default:
			}
			h.updates(tc.updates...)
			if tc.await != "" {
				h.await(tc.await)
				return
			}
			if got := h.rec.lines(); !slices.Equal(got, tc.want) {
				t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if revived := len(h.f.revive) > 0; revived != tc.revive {
				t.Fatalf("revived = %v, want %v", revived, tc.revive)
			}
		})
	}
}

// TestUpdatePathAcksEachTaskInOrder: updates of several tasks are
// acknowledged concurrently, each task's in the order received, each
// once, after the batch is stored.
func TestUpdatePathAcksEachTaskInOrder(t *testing.T) {
	h := newHarness(t, arrayJob("j", 4, 1))
	h.offers(mesosOffer("o1", "a1", 4, 1024))
	h.rec.log = nil
	var batch []mesos.TaskStatus
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("j.t.%d.0", i)
		batch = append(batch, update(id, mesos.TASK_RUNNING, "r"+id), update(id, mesos.TASK_FINISHED, "f"+id))
	}
	batch = append(batch, update("j.t.0.0", mesos.TASK_FINISHED, "fj.t.0.0")) // a duplicate delivery
	h.updates(batch...)
	got := h.rec.lines()
	if len(got) == 0 || !strings.HasPrefix(got[0], "store ") {
		t.Fatalf("effects do not start with the store:\n%s", strings.Join(got, "\n"))
	}
	acks := map[string][]string{}
	for _, l := range got[1:] {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "ack" {
			t.Fatalf("unexpected effect %q", l)
		}
		acks[f[1]] = append(acks[f[1]], f[2])
	}
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("j.t.%d.0", i)
		if want := []string{"r" + id, "f" + id}; !slices.Equal(acks[id], want) {
			t.Errorf("acks of %s = %v, want %v (in order, once)", id, acks[id], want)
		}
	}
}
