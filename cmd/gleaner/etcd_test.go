package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/gleaner-project/gleaner/test/etcdtest"
)

func flagContext(t *testing.T, flags []cli.Flag, args ...string) *cli.Context {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	for _, f := range flags {
		if err := f.Apply(fs); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(&cli.App{}, fs, nil)
}

func TestEtcdConfigTLS(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, []byte("verified only when connecting"), 0o600)
	for _, tc := range []struct {
		name    string
		args    []string
		tls     bool
		errPart string
	}{
		{"no flags: plain", nil, false, ""},
		{"a certificate needs its key", []string{"--etcd-cert", "c.pem"}, false, "--etcd-cert and --etcd-key"},
		{"a key needs its certificate", []string{"--etcd-key", "k.pem"}, false, "--etcd-cert and --etcd-key"},
		{"missing CA file", []string{"--etcd-cacert", filepath.Join(dir, "absent.pem")}, false, "etcd TLS"},
		{"a CA alone turns TLS on", []string{"--etcd-cacert", caFile}, true, ""},
		{"missing client certificate", []string{"--etcd-cert", filepath.Join(dir, "c.pem"), "--etcd-key", filepath.Join(dir, "k.pem")}, false, "etcd TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := etcdConfig(flagContext(t, etcdTLSFlags(), tc.args...), []string{"https://etcd:2379"})
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err %v, want one naming %q", err, tc.errPart)
				}
				return
			}
			if err != nil || (cfg.TLS != nil) != tc.tls || cfg.Endpoints[0] != "https://etcd:2379" {
				t.Fatalf("cfg TLS %v, err %v", cfg.TLS != nil, err)
			}
		})
	}
}

func TestAPIAuthConfig(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	a, err := apiAuthConfig(flagContext(t, apiAuthFlags(), "--token-file", tok))
	if err != nil || a.Token != "s3cret" || a.Insecure {
		t.Fatalf("--token-file: %+v %v", a, err)
	}
	if _, err := apiAuthConfig(flagContext(t, apiAuthFlags(), "--token-file", tok, "--insecure-no-auth")); err == nil {
		t.Fatal("--insecure-no-auth with --token-file accepted")
	}
	if a, err := apiAuthConfig(flagContext(t, apiAuthFlags())); err != nil || a.Insecure || a.Token != "" {
		t.Fatalf("default: %+v %v", a, err)
	}
}

// gleaner dev's embedded etcd compacts its history by itself: old
// revisions of a rewritten key become unreadable (ErrCompacted) once the
// retention has passed, and the quota and the raft log's bounds are set.
func TestDevEtcdCompacts(t *testing.T) {
	tune := devEtcdSettings(time.Second)
	var cfg embed.Config
	tune(&cfg)
	if cfg.AutoCompactionMode != "periodic" || cfg.QuotaBackendBytes != devEtcdQuotaBytes || cfg.SnapshotCount != devEtcdSnapshotCount ||
		cfg.SnapshotCatchUpEntries != devEtcdSnapshotCatchUpEntries {
		t.Fatalf("settings: mode %q quota %d snapshots %d catch-up %d", cfg.AutoCompactionMode, cfg.QuotaBackendBytes, cfg.SnapshotCount, cfg.SnapshotCatchUpEntries)
	}
	srv, err := etcdtest.EmbeddedWith(t.TempDir(), tune)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := cli.Put(ctx, "k", "0")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second)
	for i := 1; ; i++ {
		if _, err := cli.Put(ctx, "k", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		_, err := cli.Get(ctx, "k", clientv3.WithRev(first.Header.Revision))
		if errors.Is(err, rpctypes.ErrCompacted) {
			return
		}
		if err != nil {
			t.Fatalf("get at the first revision: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("revision %d still readable after 45s with a 1s compaction retention", first.Header.Revision)
		}
		time.Sleep(100 * time.Millisecond) // keep writing: periodic compaction needs revisions to move on
	}
}
