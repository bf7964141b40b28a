package framework

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/queue"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestOfferPathQueueClaims: a work-queue instance's claim is registered
// after its attempt is stored, fenced by the leader's key. While the key
// holds, the claimed instance is accepted; once it is gone (a deposed
// leader), the instance is not sent and its offer is declined, while an
// offer without work-queue launches is accepted all the same.
func TestOfferPathQueueClaims(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := etcdtest.NewClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leaderKey := "/test/leader"
	put, err := cli.Put(ctx, leaderKey, "me")
	if err != nil {
		t.Fatal(err)
	}
	fence := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(leaderKey), "=", put.Header.Revision)}

	for _, deposed := range []bool{false, true} {
		name := map[bool]string{false: "leader", true: "deposed"}[deposed]
		t.Run(name, func(t *testing.T) {
			q := queue.New(cli, "/test/"+name+"/queues/", 0)
			wq := arrayJob("wq", 1, 1)
			wq.Spec.Tasks[0].WorkQueue = &job.WorkQueue{Items: []string{"a", "b"}}
			plain := arrayJob("plain", 1, 1)
			plain.Submitted = time.Unix(2, 0)
			if _, err := q.Add(ctx, wq.ID, wq.Spec.Tasks[0].WorkQueue.Items); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, wq, plain)
			h.f.cfg.Queue, h.f.cfg.QueueURL, h.f.cfg.Fence = q, "http://scheduler", fence
			if deposed {
				if _, err := cli.Delete(ctx, leaderKey); err != nil {
					t.Fatal(err)
				}
			}
			h.offers(mesosOffer("o1", "a1", 1, 1024), mesosOffer("o2", "a2", 1, 1024))
			want := []string{"store plain.t.0.0=launching wq.t.0.0=launching", "accept o1 wq.t.0.0 refuse=5s", "accept o2 plain.t.0.0 refuse=5s", "suppress"}
			if deposed {
				want = []string{"store plain.t.0.0=launching wq.t.0.0=launching", "accept o2 plain.t.0.0 refuse=5s", "decline o1 refuse=2m0s", "suppress"}
			}
			if got := h.rec.lines(); !slices.Equal(got, want) {
				t.Fatalf("effects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			tok, err := q.Token(ctx, wq.ID, "wq.t.0.0")
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = q.Next(ctx, wq.ID, tok)
			if registered := err == nil; registered == deposed {
				t.Fatalf("claim registered = %v (err %v) with the leader's key %s", registered, err, map[bool]string{false: "held", true: "gone"}[deposed])
			}
		})
	}
}
