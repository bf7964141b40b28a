package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// etcdTLSFlags are the client TLS flags of every command that talks to
// etcd (scheduler, monitor); see SECURITY.md.
func etcdTLSFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "etcd-cacert", Usage: "CA bundle that verifies the etcd servers' certificates (https:// endpoints)"},
		&cli.StringFlag{Name: "etcd-cert", Usage: "client certificate presented to etcd (with --etcd-key)"},
		&cli.StringFlag{Name: "etcd-key", Usage: "private key of --etcd-cert"},
	}
}

// etcdConfig is the etcd client configuration for endpoints and the TLS
// flags: no TLS when none is given; a certificate needs its key.
func etcdConfig(c *cli.Context, endpoints []string) (clientv3.Config, error) {
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second}
	info := transport.TLSInfo{TrustedCAFile: c.String("etcd-cacert"), CertFile: c.String("etcd-cert"), KeyFile: c.String("etcd-key")}
	if (info.CertFile == "") != (info.KeyFile == "") {
		return cfg, errors.New("--etcd-cert and --etcd-key go together")
	}
	if info.Empty() && info.TrustedCAFile == "" {
		return cfg, nil
	}
	tc, err := info.ClientConfig()
	if err != nil {
		return cfg, fmt.Errorf("etcd TLS: %w", err)
	}
	cfg.TLS = tc
	return cfg, nil
}

// Settings of `gleaner dev`'s embedded etcd. Gleaner rewrites keys on every
// state change, so without compaction etcd keeps every revision and its
// database grows without bound (issue 16: 1 GB for one 200,000-instance
// job). Production etcd needs the same: see deploy/INSTALL.md.
const (
	// devEtcdCompactionRetention keeps this much history: periodic
	// auto-compaction drops revisions older than it.
	devEtcdCompactionRetention = 5 * time.Minute
	// devEtcdQuotaBytes is the backend quota (etcd's default is 2 GiB; a
	// dev machine should hit the alarm, and notice, well before that).
	devEtcdQuotaBytes = 1 << 30
	// devEtcdSnapshotCount is how many applied entries trigger a raft
	// snapshot, after which the raft log in memory is cut back to
	// devEtcdSnapshotCatchUpEntries. Gleaner's entries are transactions
	// of up to 120 records: at 10,000 and etcd's default 5,000 to catch
	// up, 135 MB of them were still held 10 s after a 200,000-instance
	// job.
	devEtcdSnapshotCount = 1000
	// devEtcdSnapshotCatchUpEntries is the raft log kept for a slow
	// follower to catch up from; the dev etcd is a single member.
	devEtcdSnapshotCatchUpEntries = 100
)

// devEtcdSettings tunes an embedded etcd for `gleaner dev`: periodic
// auto-compaction keeping retention of history, a backend quota, and
// frequent raft snapshots keeping a short raft log in memory.
func devEtcdSettings(retention time.Duration) func(*embed.Config) {
	return func(cfg *embed.Config) {
		cfg.AutoCompactionMode = "periodic"
		cfg.AutoCompactionRetention = retention.String()
		cfg.QuotaBackendBytes = devEtcdQuotaBytes
		cfg.SnapshotCount = devEtcdSnapshotCount
		cfg.SnapshotCatchUpEntries = devEtcdSnapshotCatchUpEntries
	}
}
