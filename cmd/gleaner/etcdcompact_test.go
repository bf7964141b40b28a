package main

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/test/etcdtest"
)

func TestCompactionAdvice(t *testing.T) {
	for _, c := range []struct {
		name        string
		revision    int64
		compacted   bool
		self        bool
		wantWarning bool
	}{
		{"young etcd, never compacted", etcdYoungRevisions - 1, false, false, false},
		{"busy etcd, never compacted", etcdYoungRevisions, false, false, true},
		{"busy etcd that compacts itself", 5_000_000, true, false, false},
		{"busy etcd, the scheduler compacts", 5_000_000, false, true, false},
	} {
		got := compactionAdvice(c.revision, c.compacted, c.self)
		if (got != "") != c.wantWarning {
			t.Errorf("%s: advice %q, want a warning: %v", c.name, got, c.wantWarning)
		}
		if got != "" && (!strings.Contains(got, "--auto-compaction-mode=periodic") || !strings.Contains(got, "--etcd-compact-every")) {
			t.Errorf("%s: advice %q names neither etcd's setting nor the scheduler's flag", c.name, got)
		}
	}
}

// Two compaction steps compact at the revision the first saw: history
// older than one interval goes (revision 1 is refused), the rest stays.
func TestCompactStep(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 5 {
		if _, err := cli.Put(ctx, "/gleaner/jobs/x", "v"); err != nil {
			t.Fatal(err)
		}
	}
	if _, compacted, err := etcdCompactionState(ctx, cli); err != nil || compacted {
		t.Fatalf("fresh etcd: compacted %v, err %v; want never compacted", compacted, err)
	}
	first, err := compactStep(ctx, cli, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, compacted, _ := etcdCompactionState(ctx, cli); compacted {
		t.Fatal("the first step compacted: it has no earlier revision to compact at")
	}
	put, err := cli.Put(ctx, "/gleaner/jobs/x", "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compactStep(ctx, cli, first); err != nil {
		t.Fatal(err)
	}
	rev, compacted, err := etcdCompactionState(ctx, cli)
	if err != nil || !compacted || rev < put.Header.Revision {
		t.Fatalf("after the second step: revision %d, compacted %v, err %v; want compacted, revision >= %d", rev, compacted, err, put.Header.Revision)
	}
	if _, err := cli.Get(ctx, "/gleaner/jobs/x", clientv3.WithRev(first)); err != nil {
		t.Fatalf("revision %d, the compaction point, must stay readable: %v", first, err)
	}
}
