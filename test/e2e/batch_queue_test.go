package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// A worker that takes one item (perItem); instance 0's first attempt
// dies holding its item, which goes to the retry.
const perItemWorker = `auth="Authorization: Bearer $GLEANER_QUEUE_TOKEN"
curl -sf -o item.json -H "$auth" "$GLEANER_QUEUE_URL/next" || exit 1
if [ "$GLEANER_INDEX$GLEANER_ATTEMPT" = "00" ]; then exit 9; fi
data=$(jq -r .data item.json)
echo "$GLEANER_INDEX" >> %[1]s/item-$data
curl -sf -X POST -H "$auth" "$GLEANER_QUEUE_URL/$(jq -r .id item.json)/done"`

// A worker that pulls until the queue is empty (workers).
const loopWorker = `auth="Authorization: Bearer $GLEANER_QUEUE_TOKEN"
while :; do
  code=$(curl -s -o item.json -w '%%{http_code}' -H "$auth" "$GLEANER_QUEUE_URL/next")
  case $code in
    200) data=$(jq -r .data item.json); echo "$GLEANER_INDEX" >> %[1]s/item-$data
         curl -sf -X POST -H "$auth" "$GLEANER_QUEUE_URL/$(jq -r .id item.json)/done" || exit 1 ;;
    204) exit 0 ;;
    503) sleep 0.2 ;;
    *) exit 1 ;;
  esac
done`

// Both work-queue patterns against the scheduler's own queue (etcd, no
// broker), through the API and the env the scheduler puts in each task.
func TestBatchWorkQueues(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Resources: "cpus:4;mem:4096;disk:1024"})
	var h atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().(http.Handler).ServeHTTP(w, r)
	}))
	defer srv.Close()
	n, _ := env.startNode("a", func(c *node.Config) { c.AdvertiseURL = srv.URL; c.QueueTTL = 5 * time.Second })
	h.Store(api.Handler(n, api.Config{Auth: e2eGuard()}))
	out := openDir(t)
	check := func(t *testing.T, prefix string, items int) {
		t.Helper()
		for i := 0; i < items; i++ {
			b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("item-%s%d", prefix, i)))
			if err != nil || len(b) == 0 {
				t.Errorf("item %s%d not processed: %v", prefix, i, err)
			}
		}
		m, _ := filepath.Glob(filepath.Join(out, "item-"+prefix+"*"))
		if len(m) != items {
			t.Errorf("%d %s items processed, want %d", len(m), prefix, items)
		}
	}

	t.Run("perItem", func(t *testing.T) {
		var items string
		for i := 0; i < 6; i++ {
			items += fmt.Sprintf("p%d, ", i)
		}
		j := submit(t, []*node.Node{n}, mustSpec(t, fmt.Sprintf(`
name: per-item
tasks:
  - name: work
    command: %q
    workQueue: {items: [%s]}
    retries: 1
    resources: {cpus: 0.2, mem: 32}
`, fmt.Sprintf(perItemWorker, out), items)))
		st, as := waitBatch(t, n, j.ID, 60*time.Second)
		if st.State != job.Succeeded || st.Tasks[0].Instances != 6 || len(as) != 7 {
			t.Fatalf("per-item: %+v, %d attempts", st, len(as))
		}
		check(t, "p", 6)
	})
	t.Run("workers", func(t *testing.T) {
		var items string
		for i := 0; i < 20; i++ {
			items += fmt.Sprintf("w%d, ", i)
		}
		j := submit(t, []*node.Node{n}, mustSpec(t, fmt.Sprintf(`
name: workers
tasks:
  - name: pull
    command: %q
    instances: 3
    workQueue: {items: [%s], pattern: workers}
    resources: {cpus: 0.2, mem: 32}
`, fmt.Sprintf(loopWorker, out), items)))
		st, as := waitBatch(t, n, j.ID, 60*time.Second)
		if st.State != job.Succeeded || len(as) != 3 {
			t.Fatalf("workers: %+v, %d attempts", st, len(as))
		}
		check(t, "w", 20)
	})
	t.Run("long item outlives the claim TTL", func(t *testing.T) {
		// The worker that takes the only item holds it 7 s, past the 5 s
		// TTL: the scheduler keeps its claim alive, so the other never gets it.
		slow := strings.Replace(fmt.Sprintf(loopWorker, out), `200) data=`, `200) sleep 7; data=`, 1)
		j := submit(t, []*node.Node{n}, mustSpec(t, fmt.Sprintf(`
name: long-item
tasks:
  - name: pull
    command: %q
    instances: 2
    workQueue: {items: [long0], pattern: workers}
    resources: {cpus: 0.2, mem: 32}
`, slow)))
		if st, _ := waitBatch(t, n, j.ID, 60*time.Second); st.State != job.Succeeded {
			t.Fatalf("long item: %+v", st)
		}
		b, err := os.ReadFile(filepath.Join(out, "item-long0"))
		if err != nil || strings.Count(string(b), "\n") != 1 {
			t.Fatalf("item handed out %q (%v), want once", b, err)
		}
	})
	t.Run("examples", func(t *testing.T) {
		for _, f := range []string{"queue-per-item.yaml", "queue-workers.yaml"} {
			j := submit(t, []*node.Node{n}, example(t, f))
			if st, _ := waitBatch(t, n, j.ID, 60*time.Second); st.State != job.Succeeded {
				t.Fatalf("%s: %+v", f, st)
			}
			stats, err := n.Queue().Stats(t.Context(), j.ID)
			if err != nil || stats.Remaining != 0 {
				t.Fatalf("%s: queue after the job: %+v %v", f, stats, err)
			}
		}
	})
	// A request without the instance token is refused.
	resp, err := http.Get(srv.URL + "/v1/jobs/x/queue/next")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("next without a token: %d", resp.StatusCode)
	}
}
