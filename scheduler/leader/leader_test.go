package leader

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestFailoverOnLeaseExpiryAndResign(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a, err := Campaign(ctx, cli, "/g/", "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Current(ctx, cli, "/g/"); v != "a" {
		t.Fatalf("Current = %q, want a", v)
	}
	got := make(chan *Term, 1)
	go func() {
		b, err := Campaign(ctx, cli, "/g/", "b", 1)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	select {
	case <-got:
		t.Fatal("b elected while a leads")
	case <-time.After(200 * time.Millisecond): // b must still be waiting
	}
	aKey, aRev := a.Key(), a.Rev()
	a.Abandon() // crash: the lease (TTL 1 s) must expire
	var b *Term
	select {
	case b = <-got:
	case <-ctx.Done():
		t.Fatal("b never elected after a's lease expired")
	}
	if b.Key() == aKey && b.Rev() == aRev {
		t.Fatal("new term has the old fence")
	}
	if v, _ := Current(ctx, cli, "/g/"); v != "b" {
		t.Fatalf("Current = %q, want b", v)
	}
	go func() {
		c, err := Campaign(ctx, cli, "/g/", "c", 30)
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	if err := b.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-got:
		if v, _ := Current(ctx, cli, "/g/"); v != "c" {
			t.Fatalf("Current = %q, want c", v)
		}
		c.Resign(ctx)
	case <-ctx.Done():
		t.Fatal("c never elected after b resigned")
	}
}

// A standby whose lease ends while it waits (etcd unreachable for longer
// than the lease) must not go on waiting and later "win" with a dead
// session: its campaign ends with ErrSessionLost, and a new one works.
func TestCampaignEndsWhenItsLeaseIsLost(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Campaign(ctx, cli, "/g/", "a", 30)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Resign(ctx)
	done := make(chan error, 1)
	go func() {
		b, err := Campaign(ctx, cli, "/g/", "b", 30)
		if b != nil {
			b.Resign(ctx)
		}
		done <- err
	}()
	var lease clientv3.LeaseID
	for lease == 0 { // b's key appears beside a's
		resp, err := cli.Get(ctx, "/g/leader/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			if string(kv.Value) == "b" {
				lease = clientv3.LeaseID(kv.Lease)
			}
		}
		if ctx.Err() != nil {
			t.Fatal("b never campaigned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := cli.Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrSessionLost) {
			t.Fatalf("campaign after its lease was revoked = %v, want ErrSessionLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the campaign kept waiting with a revoked lease")
	}
	if v, _ := Current(ctx, cli, "/g/"); v != "a" {
		t.Fatalf("Current = %q, want a", v)
	}
}
