package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Against Debian's etcd-server 3.4 instead of the embedded etcd.
func TestSchedulerOnDebianEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Debian's etcd-server")
	}
	env := newSchedEnv(t, localmesos.Config{Agents: 3})
	env.etcd = etcdtest.StartDebian(t)
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, tenThenOne))
	st, as := waitJob(t, n, j.ID, 60*time.Second)
	checkExactlyOnce(t, st, as)
}

// The first --master is unreachable: the framework moves on to the next,
// and authenticates with its principal and secret.
func TestSchedulerSeveralMastersAndBasicAuth(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Credentials: map[string]string{"gleaner": "s3cret"}})
	n, _ := env.startNode("a", func(c *node.Config) {
		c.Framework.Masters = []string{"http://127.0.0.1:1", env.mesos.MasterURL()}
		c.Framework.Principal = "gleaner"
		c.Framework.Secret = "s3cret"
	})
	j := submit(t, []*node.Node{n}, mustSpec(t, tenThenOne))
	st, _ := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %s", st.State)
	}
}

// A wrong secret never subscribes, so nothing runs.
func TestSchedulerWrongSecretDoesNotSubscribe(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Credentials: map[string]string{"gleaner": "s3cret"}})
	n, _ := env.startNode("a", func(c *node.Config) {
		c.Framework.Principal = "gleaner"
		c.Framework.Secret = "wrong"
	})
	waitFor(t, "a to lead", 10*time.Second, n.IsLeader)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if n.Subscribed() {
			t.Fatal("subscribed with a wrong secret")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
