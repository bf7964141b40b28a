package etcdtest

import (
	"context"
	"testing"
	"time"
)

func roundTrip(t *testing.T, s *Server) {
	t.Helper()
	c := NewClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("got %v, want k=v", resp.Kvs)
	}
}

func TestEmbeddedStopRestartKeepsData(t *testing.T) {
	s := Start(t)
	roundTrip(t, s)
	s.Stop()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	c := NewClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, "k")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("after restart: %v %v", resp, err)
	}
}

func TestDebianEtcd(t *testing.T) {
	roundTrip(t, StartDebian(t))
}
