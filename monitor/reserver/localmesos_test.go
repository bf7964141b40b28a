package reserver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/localmesos"
)

// TestAgainstLocalMesos runs the client against the local Mesos master's
// real operator API (protobuf codec, basic auth on).
func TestAgainstLocalMesos(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := localmesos.Start(ctx, localmesos.Config{
		Agents: 2, Resources: "cpus:4;mem:4096;disk:1024",
		Credentials: map[string]string{"gleaner": "s3cret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	host := cl.Agents()[1].Hostname()
	c, err := New(Config{MasterURL: cl.MasterURL(), Hostname: host, Role: "batch", Principal: "gleaner", Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	// The agent registers asynchronously.
	var st State
	for deadline := time.Now().Add(10 * time.Second); ; {
		st, err = c.State(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrAgentNotFound) || time.Now().After(deadline) {
			t.Fatalf("state: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !near(st.Total, res(4, 4096)) || !near(st.Reserved, res(0, 0)) || !near(st.FreeUnreserved, res(4, 4096)) {
		t.Fatalf("initial state %+v", st)
	}
	steps := []struct {
		target, want res2
	}{
		{res2{2.5, 1500}, res2{2.5, 1500}},
		{res2{2.5, 1500}, res2{2.5, 1500}}, // idempotent
		{res2{1.25, 2000}, res2{1.25, 2000}},
		{res2{9, 9000}, res2{4, 4096}}, // no more than the agent has
		{res2{0, 0}, res2{0, 0}},
	}
	for i, s := range steps {
		r, err := c.Apply(ctx, res(s.target.c, s.target.m))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		st, err := c.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !near(st.Reserved, res(s.want.c, s.want.m)) || !near(r.Reserved, st.Reserved) {
			t.Fatalf("step %d: master holds %+v, result says %+v, want %+v", i, st.Reserved, r.Reserved, s.want)
		}
		if !near(st.Total, res(4, 4096)) {
			t.Fatalf("step %d: total changed to %+v", i, st.Total)
		}
	}
	// The other agent was never touched.
	other, err := New(Config{MasterURL: cl.MasterURL(), Hostname: cl.Agents()[0].Hostname(), Role: "batch", Principal: "gleaner", Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if ost, err := other.State(ctx); err != nil || !near(ost.Reserved, res(0, 0)) {
		t.Fatalf("other agent %+v %v", ost, err)
	}
	// Without credentials the master refuses.
	anon, _ := New(Config{MasterURL: cl.MasterURL(), Hostname: host, Role: "batch"})
	if _, err := anon.State(ctx); err == nil {
		t.Fatal("unauthenticated GET_AGENTS accepted")
	}
}

type res2 struct{ c, m float64 }
