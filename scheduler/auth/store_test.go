package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func readToken(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// The first start creates an admin and a read-only token: secrets in 0600
// files, only hashes in etcd; a second start finds them and creates none.
func TestBootstrapCreatesOnceAndStoresOnlyHashes(t *testing.T) {
	cli := etcdtest.NewClient(t, etcdtest.Start(t))
	ctx := context.Background()
	st := NewStore(cli, "/g/")
	dir := filepath.Join(t.TempDir(), "state")
	b, err := st.Bootstrap(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Created || len(b.Entries) != 2 || len(b.Files) != 2 {
		t.Fatalf("first start: %+v", b)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode %v", fi.Mode().Perm())
	}
	k := NewKeyring(b.Entries...)
	admin := readToken(t, b.Files["admin"])
	reader := readToken(t, b.Files["read-only"])
	if id, err := k.Verify(admin); err != nil || id != (Identity{"admin", Admin}) {
		t.Fatalf("admin token: %+v %v", id, err)
	}
	if id, err := k.Verify(reader); err != nil || id != (Identity{"read-only", ReadOnly}) {
		t.Fatalf("read-only token: %+v %v", id, err)
	}
	resp, err := cli.Get(ctx, "/g/auth/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if strings.Contains(string(kv.Value), admin) || strings.Contains(string(kv.Value), reader) {
			t.Fatalf("etcd holds a secret: %s", kv.Value)
		}
	}

	other := filepath.Join(t.TempDir(), "other")
	again, err := st.Bootstrap(ctx, other)
	if err != nil || again.Created || len(again.Entries) != 2 {
		t.Fatalf("second start: %+v %v", again, err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("second start wrote a state dir: %v", err)
	}
}

// Two schedulers starting at once: one creates, the other's files are
// removed and both verify the same tokens.
func TestBootstrapRace(t *testing.T) {
	cli := etcdtest.NewClient(t, etcdtest.Start(t))
	st := NewStore(cli, "/g/")
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	res := make([]Bootstrapped, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = st.Bootstrap(context.Background(), dirs[i])
		}()
	}
	wg.Wait()
	created := -1
	for i := range dirs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if res[i].Created {
			if created >= 0 {
				t.Fatalf("both %d and %d created tokens", created, i)
			}
			created = i
		}
	}
	if created < 0 {
		t.Fatal("nobody created the tokens")
	}
	admin := readToken(t, res[created].Files["admin"])
	for i := range dirs {
		if _, err := NewKeyring(res[i].Entries...).Verify(admin); err != nil {
			t.Fatalf("scheduler %d does not know the admin token: %v", i, err)
		}
		if i != created {
			if left, _ := os.ReadDir(dirs[i]); len(left) != 0 {
				t.Fatalf("loser %d kept files %v", i, left)
			}
		}
	}
}

// A token deleted in etcd stops working on a watching keyring.
func TestWatchRevokes(t *testing.T) {
	cli := etcdtest.NewClient(t, etcdtest.Start(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := NewStore(cli, "/g/")
	b, err := st.Bootstrap(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := NewKeyring(b.Entries...)
	go st.Watch(ctx, b.Revision, k.Replace, nil)
	reader := readToken(t, b.Files["read-only"])
	if _, err := cli.Delete(ctx, "/g/auth/tokens/read-only"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := k.Verify(reader); errors.Is(err, ErrUnknownToken) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted token still verifies")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := k.Verify(readToken(t, b.Files["admin"])); err != nil {
		t.Fatalf("admin token after the delete: %v", err)
	}
}
