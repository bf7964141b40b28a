package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/scheduler/store/storetest"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func()) {
		m := store.NewMemory()
		var lost atomic.Bool
		m.SetFence(func() bool { return !lost.Load() })
		return m, func() { lost.Store(true) }
	})
}

func etcdFactory(srv *etcdtest.Server) storetest.Factory {
	n := 0
	return func(t *testing.T) (store.Store, func()) {
		cli, err := srv.Client()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		n++
		prefix := "/test-" + time.Now().Format("150405.000000") + "-" + string(rune('a'+n)) + "/"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		leaderKey := prefix + "leader/term"
		resp, err := cli.Put(ctx, leaderKey, "me")
		if err != nil {
			t.Fatal(err)
		}
		s := store.NewEtcd(cli, prefix).Fenced(leaderKey, resp.Header.Revision)
		return s, func() {
			if _, err := cli.Delete(context.Background(), leaderKey); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestEtcdEmbedded(t *testing.T) {
	storetest.Run(t, etcdFactory(etcdtest.Start(t)))
}

func TestEtcdDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Debian's etcd-server")
	}
	storetest.Run(t, etcdFactory(etcdtest.StartDebian(t)))
}

// A new term (the key deleted and re-created) must not accept the old
// term's writes either.
func TestEtcdFenceNewTerm(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	r1, _ := cli.Put(ctx, "/p/leader/x", "old")
	old := store.NewEtcd(cli, "/p/").Fenced("/p/leader/x", r1.Header.Revision)
	cli.Delete(ctx, "/p/leader/x")
	r2, _ := cli.Put(ctx, "/p/leader/x", "new")
	cur := store.NewEtcd(cli, "/p/").Fenced("/p/leader/x", r2.Header.Revision)
	if err := old.SetFrameworkID(ctx, "old"); err == nil {
		t.Fatal("old term wrote")
	}
	if err := cur.SetFrameworkID(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	var _ = clientv3.WithPrefix
}
