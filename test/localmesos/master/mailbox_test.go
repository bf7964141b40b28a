package master

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/master/fakeagent"
)

// An agent that re-registers through a new link (a restarted agent
// process) leaves no mailbox behind for its old one: the master keeps one
// per link it can still call.
func TestReregisteredAgentLeavesNoMailboxBehind(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	info := mesos.AgentInfo{Hostname: "h1", Resources: []mesos.Resource{
		{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 1}}}}
	links := func() int {
		m.mu.Lock()
		defer m.unlock()
		return len(m.mailboxes)
	}
	call := func(a *fakeagent.Agent) {
		m.mu.Lock()
		m.later(a, func() {})
		m.unlock()
	}
	first := fakeagent.New(m, info, nil)
	id, err := first.Register()
	if err != nil {
		t.Fatal(err)
	}
	call(first)
	for i := range 3 {
		restarted := info
		restarted.ID = &id
		next := fakeagent.New(m, restarted, nil)
		if _, err := next.Register(); err != nil {
			t.Fatal(err)
		}
		call(next)
		if n := links(); n != 1 {
			t.Fatalf("after %d re-registrations the master keeps %d mailboxes, want 1", i+1, n)
		}
	}
}
