package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Debian's etcd killed and started again, several times: after each, some
// scheduler leads and is subscribed again (the chaos run once found none
// leading 60 s after an etcd restart).
func TestLeaderAgainAfterEtcdRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Debian's etcd-server")
	}
	env := newSchedEnv(t, localmesos.Config{Agents: 1})
	env.etcd = etcdtest.StartDebian(t)
	a, _ := env.startNode("a")
	b, _ := env.startNode("b")
	nodes := []*node.Node{a, b}
	leading := func() bool {
		for _, n := range nodes {
			if n.IsLeader() && n.Subscribed() {
				return true
			}
		}
		return false
	}
	waitFor(t, "a subscribed leader", 30*time.Second, leading)
	for i := range 4 {
		env.etcd.Stop()
		if i%2 == 1 { // down for longer than the lease (2 s)
			time.Sleep(3 * time.Second)
		}
		if err := env.etcd.Restart(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a subscribed leader after etcd restart", 45*time.Second, leading)
	}
}
