package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func newQueue(t *testing.T, ttl time.Duration) (*Queue, context.Context) {
	t.Helper()
	srv := etcdtest.Start(t)
	cli := etcdtest.NewClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	t.Cleanup(cancel)
	return New(cli, "/test/"+t.Name()+"/", ttl), ctx
}

func items(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("item-%d", i)
	}
	return out
}

func mustRegister(t *testing.T, ctx context.Context, q *Queue, job, inst string) string {
	t.Helper()
	tok, err := q.Register(ctx, job, inst)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestQueueBasics(t *testing.T) {
	q, ctx := newQueue(t, 0)
	if first, err := q.Add(ctx, "j", items(3)); err != nil || first != "000000000000" {
		t.Fatalf("Add = %q, %v", first, err)
	}
	if first, err := q.Add(ctx, "j", []string{"late"}); err != nil || first != "000000000003" {
		t.Fatalf("second Add = %q, %v", first, err)
	}
	a := mustRegister(t, ctx, q, "j", "j.w.0.0")
	b := mustRegister(t, ctx, q, "j", "j.w.1.0")
	got := map[string]string{}
	for i, tok := range []string{a, b, a, b} {
		it, st, err := q.Next(ctx, "j", tok)
		if err != nil || st != Handed {
			t.Fatalf("Next %d: %v %v", i, st, err)
		}
		if _, dup := got[it.ID]; dup {
			t.Fatalf("item %s handed out twice", it.ID)
		}
		got[it.ID] = it.Data
	}
	if got["000000000003"] != "late" || got["000000000000"] != "item-0" || len(got) != 4 {
		t.Fatalf("handed %v", got)
	}
	// Everything is held: busy, not empty.
	if _, st, err := q.Next(ctx, "j", a); err != nil || st != Busy {
		t.Fatalf("Next with all held: %v %v", st, err)
	}
	if s, _ := q.Stats(ctx, "j"); s != (Stats{Remaining: 4, Claimed: 4}) {
		t.Fatalf("stats %+v", s)
	}
	// Only the holder may finish an item.
	if err := q.Done(ctx, "j", a, "000000000001"); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("Done by the wrong token: %v", err)
	}
	for _, c := range []struct{ tok, id string }{{a, "000000000000"}, {b, "000000000001"}, {a, "000000000002"}, {b, "000000000003"}} {
		if err := q.Done(ctx, "j", c.tok, c.id); err != nil {
			t.Fatalf("Done %s: %v", c.id, err)
		}
	}
	// Done twice is fine.
	if err := q.Done(ctx, "j", a, "000000000000"); err != nil {
		t.Fatalf("second Done: %v", err)
	}
	if empty, err := q.Empty(ctx, "j"); err != nil || !empty {
		t.Fatalf("Empty = %v, %v", empty, err)
	}
	if _, st, err := q.Next(ctx, "j", b); err != nil || st != Empty {
		t.Fatalf("Next on the empty queue: %v %v", st, err)
	}
	if err := q.Done(ctx, "j", a, "../x"); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("Done of a bad id: %v", err)
	}
}

func TestTokens(t *testing.T) {
	q, ctx := newQueue(t, 0)
	if _, err := q.Add(ctx, "j", items(1)); err != nil {
		t.Fatal(err)
	}
	other := mustRegister(t, ctx, q, "k", "k.w.0.0")
	if _, _, err := q.Next(ctx, "j", other); !errors.Is(err, ErrWrongJob) {
		t.Fatalf("token of job k on j: %v", err)
	}
	if _, _, err := q.Next(ctx, "j", "made-up"); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("made-up token: %v", err)
	}
	tok := mustRegister(t, ctx, q, "j", "j.w.0.0")
	if err := q.Release(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.Next(ctx, "j", tok); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("released token: %v", err)
	}
	if err := q.Release(ctx, tok); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if _, err := q.Add(ctx, "j", []string{strings.Repeat("x", MaxItemBytes+1)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge item: %v", err)
	}
}

// An instance that ends (released by the scheduler) gives its items back
// at once; its late Done is refused.
func TestReleaseHandsItemsOutAgain(t *testing.T) {
	q, ctx := newQueue(t, 0)
	if _, err := q.Add(ctx, "j", items(2)); err != nil {
		t.Fatal(err)
	}
	dead := mustRegister(t, ctx, q, "j", "j.w.0.0")
	live := mustRegister(t, ctx, q, "j", "j.w.1.0")
	i0, _, _ := q.Next(ctx, "j", dead)
	i1, _, _ := q.Next(ctx, "j", dead)
	if _, st, _ := q.Next(ctx, "j", live); st != Busy {
		t.Fatalf("want busy, got %v", st)
	}
	if err := q.Release(ctx, dead); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 2 {
		it, st, err := q.Next(ctx, "j", live)
		if err != nil || st != Handed {
			t.Fatalf("after release: %v %v", st, err)
		}
		got[it.ID] = true
		if err := q.Done(ctx, "j", live, it.ID); err != nil {
			t.Fatal(err)
		}
	}
	if !got[i0.ID] || !got[i1.ID] {
		t.Fatalf("re-handed %v, want %s and %s", got, i0.ID, i1.ID)
	}
	if empty, _ := q.Empty(ctx, "j"); !empty {
		t.Fatal("not empty")
	}
}

// A worker that goes silent loses its claim when its lease expires; when
// it comes back it gets a new lease but not its old item.
func TestLeaseExpiry(t *testing.T) {
	q, ctx := newQueue(t, 2*time.Second)
	if _, err := q.Add(ctx, "j", items(1)); err != nil {
		t.Fatal(err)
	}
	silent := mustRegister(t, ctx, q, "j", "j.w.0.0")
	other := mustRegister(t, ctx, q, "j", "j.w.1.0")
	it, st, err := q.Next(ctx, "j", silent)
	if err != nil || st != Handed {
		t.Fatal(st, err)
	}
	// other keeps asking (each call keeps only its own lease alive) until
	// the silent worker's claim expires; bounded by the context.
	var again Item
	for {
		again, st, err = q.Next(ctx, "j", other)
		if err != nil {
			t.Fatal(err)
		}
		if st == Handed {
			break
		}
		if st != Busy {
			t.Fatalf("status %v while the item is held", st)
		}
		select {
		case <-ctx.Done():
			t.Fatal("claim never expired")
		case <-time.After(200 * time.Millisecond):
		}
	}
	if again.ID != it.ID {
		t.Fatalf("re-handed %s, want %s", again.ID, it.ID)
	}
	if err := q.Done(ctx, "j", silent, it.ID); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("the silent worker's late Done: %v", err)
	}
	if err := q.Done(ctx, "j", other, it.ID); err != nil {
		t.Fatal(err)
	}
}

// Many workers drain a queue concurrently: every item is finished exactly
// once and no item is held by two workers at a time.
func TestConcurrentWorkers(t *testing.T) {
	q, ctx := newQueue(t, 0)
	const n, workers = 300, 8
	if _, err := q.Add(ctx, "j", items(n)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	holder := map[string]int{}
	done := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		tok := mustRegister(t, ctx, q, "j", fmt.Sprintf("j.w.%d.0", w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it, st, err := q.Next(ctx, "j", tok)
				if err != nil {
					errs <- err
					return
				}
				if st == Empty {
					return
				}
				if st == Busy {
					// Others hold the rest; they finish without dying.
					return
				}
				mu.Lock()
				if h, ok := holder[it.ID]; ok {
					mu.Unlock()
					errs <- fmt.Errorf("item %s handed to %d while %d holds it", it.ID, w, h)
					return
				}
				holder[it.ID] = w
				mu.Unlock()
				mu.Lock()
				delete(holder, it.ID)
				done[it.ID]++
				mu.Unlock()
				if err := q.Done(ctx, "j", tok, it.ID); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(done) != n {
		t.Fatalf("%d items done, want %d", len(done), n)
	}
	for id, c := range done {
		if c != 1 {
			t.Fatalf("item %s done %d times", id, c)
		}
	}
	if empty, _ := q.Empty(ctx, "j"); !empty {
		t.Fatal("queue not empty")
	}
}

// Next skips past pages of held items.
func TestScanPastHeldPages(t *testing.T) {
	q, ctx := newQueue(t, 0)
	if _, err := q.Add(ctx, "j", items(scanPage+10)); err != nil {
		t.Fatal(err)
	}
	tok := mustRegister(t, ctx, q, "j", "j.w.0.0")
	for i := range scanPage + 10 {
		it, st, err := q.Next(ctx, "j", tok)
		if err != nil || st != Handed || it.ID != itemID(int64(i)) {
			t.Fatalf("Next %d: %+v %v %v", i, it, st, err)
		}
	}
	if _, st, _ := q.Next(ctx, "j", tok); st != Busy {
		t.Fatalf("want busy, got %v", st)
	}
	if err := q.Delete(ctx, "j"); err != nil {
		t.Fatal(err)
	}
	if _, st, _ := q.Next(ctx, "j", tok); st != Empty {
		t.Fatalf("after delete: %v", st)
	}
}

// Tokens are derived, not stored: a second scheduler (a new leader)
// computes the same token, Register is idempotent and keeps the claims,
// and ReleaseInstance needs only the task id.
func TestTokenDerivedAcrossLeaders(t *testing.T) {
	srv := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := New(etcdtest.NewClient(t, srv), "/failover/", 0)
	b := New(etcdtest.NewClient(t, srv), "/failover/", 0)
	if _, err := a.Add(ctx, "j", items(2)); err != nil {
		t.Fatal(err)
	}
	ta := mustRegister(t, ctx, a, "j", "j.w.0.0")
	it, st, err := a.Next(ctx, "j", ta)
	if err != nil || st != Handed {
		t.Fatal(st, err)
	}
	tb := mustRegister(t, ctx, b, "j", "j.w.0.0")
	if ta != tb {
		t.Fatal("two schedulers derived different tokens")
	}
	if other, _ := b.Token(ctx, "j", "j.w.1.0"); other == ta {
		t.Fatal("two instances share a token")
	}
	// Re-registering kept the claim: the item is still held.
	if s, _ := b.Stats(ctx, "j"); s.Claimed != 1 {
		t.Fatalf("claims after re-register: %+v", s)
	}
	if err := b.Done(ctx, "j", tb, it.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Next(ctx, "j", tb); err != nil {
		t.Fatal(err)
	}
	if err := b.ReleaseInstance(ctx, "j", "j.w.0.0"); err != nil {
		t.Fatal(err)
	}
	if s, _ := a.Stats(ctx, "j"); s != (Stats{Remaining: 1, Claimed: 0}) {
		t.Fatalf("after ReleaseInstance: %+v", s)
	}
	if _, _, err := a.Next(ctx, "j", ta); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("released token: %v", err)
	}
}

// TestRegisterFenced: a claim is registered only while the leader's key
// holds; a deposed leader's registration fails with ErrFenced and leaves
// no record.
func TestRegisterFenced(t *testing.T) {
	q, ctx := newQueue(t, 0)
	leaderKey := "/test/" + t.Name() + "/leader"
	put, err := q.cli.Put(ctx, leaderKey, "me")
	if err != nil {
		t.Fatal(err)
	}
	fence := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(leaderKey), "=", put.Header.Revision)}
	if _, err := q.Add(ctx, "j", items(1)); err != nil {
		t.Fatal(err)
	}
	tok, err := q.RegisterIf(ctx, "j", "j.w.0.0", fence)
	if err != nil {
		t.Fatalf("leader's registration: %v", err)
	}
	if _, st, err := q.Next(ctx, "j", tok); err != nil || st != Handed {
		t.Fatalf("registered claim: %v %v", st, err)
	}
	if _, err := q.RegisterIf(ctx, "j", "j.w.0.0", fence); err != nil {
		t.Fatalf("registering again under the fence: %v", err)
	}
	if _, err := q.cli.Delete(ctx, leaderKey); err != nil {
		t.Fatal(err)
	}
	if _, err := q.RegisterIf(ctx, "j", "j.w.1.0", fence); !errors.Is(err, ErrFenced) {
		t.Fatalf("deposed leader's registration: %v, want ErrFenced", err)
	}
	other, _ := q.Token(ctx, "j", "j.w.1.0")
	if _, _, err := q.Next(ctx, "j", other); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("a fenced-out claim was recorded: %v", err)
	}
}
