package leader

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
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
