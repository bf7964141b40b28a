package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Issue 16: Gleaner rewrites etcd keys on every state change, and etcd
// keeps every revision until something compacts them; one 200,000-instance
// job left an uncompacted etcd at 1 GB. Either etcd compacts itself
// (--auto-compaction-*, deploy/INSTALL.md), which the scheduler checks at
// start, or the leading scheduler compacts with --etcd-compact-every.

// etcdYoungRevisions is the revision below which an etcd that never
// compacted is not worth a warning: it has barely been written to.
const etcdYoungRevisions = 10_000

func etcdCompactFlag() cli.Flag {
	return &cli.DurationFlag{Name: "etcd-compact-every", Usage: "the leader compacts etcd's history this often, keeping the last interval's revisions " +
		"(etcd's own --auto-compaction-mode=periodic does the same; compaction applies to the whole etcd, not only Gleaner's keys); " +
		"0: leave compaction to etcd, and warn at start if it never compacted"}
}

// compactionAdvice is the start-up check's verdict: what to log (empty:
// nothing) given etcd's current revision, whether revision 1 has been
// compacted away, and whether this scheduler compacts itself.
func compactionAdvice(revision int64, everCompacted, selfCompacting bool) string {
	switch {
	case selfCompacting || everCompacted || revision < etcdYoungRevisions:
		return ""
	default:
		return "etcd has never compacted its history, so its database grows with every state change: run etcd with " +
			"--auto-compaction-mode=periodic --auto-compaction-retention=1h (deploy/INSTALL.md), or start the scheduler with --etcd-compact-every 5m"
	}
}

// checkEtcdCompaction logs compactionAdvice's warning, with the revision
// and database size.
func checkEtcdCompaction(ctx context.Context, cli *clientv3.Client, selfCompacting bool, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rev, compacted, err := etcdCompactionState(ctx, cli)
	if err != nil {
		log.Warn("etcd compaction check", "err", err)
		return
	}
	advice := compactionAdvice(rev, compacted, selfCompacting)
	if advice == "" {
		return
	}
	var dbSize int64
	for _, ep := range cli.Endpoints() {
		if st, err := cli.Status(ctx, ep); err == nil {
			dbSize = st.DbSize
			break
		}
	}
	log.Warn(advice, "revision", rev, "db-size-MiB", dbSize>>20)
}

// etcdCompactionState is etcd's current revision and whether it ever
// compacted: a read at revision 1 is refused once any compaction happened.
func etcdCompactionState(ctx context.Context, cli *clientv3.Client) (revision int64, everCompacted bool, err error) {
	resp, err := cli.Get(ctx, "gleaner-compaction-probe", clientv3.WithRev(1), clientv3.WithCountOnly())
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		cur, err := cli.Get(ctx, "gleaner-compaction-probe", clientv3.WithCountOnly())
		if err != nil {
			return 0, true, err
		}
		return cur.Header.Revision, true, nil
	case err != nil:
		return 0, false, err
	}
	return resp.Header.Revision, false, nil
}

// compactLoop compacts etcd every interval while leading (leading is
// asked at each tick): to the revision seen one tick earlier, so the last
// interval's history stays readable (watches resuming from it).
func compactLoop(ctx context.Context, cli *clientv3.Client, every time.Duration, leading func() bool, log *slog.Logger) {
	if every <= 0 {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var prev int64 // revision seen at the previous tick while leading
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !leading() {
			prev = 0
			continue
		}
		rev, err := compactStep(ctx, cli, prev)
		if err != nil {
			log.Warn("etcd compaction", "revision", prev, "err", err)
		}
		prev = rev
	}
}

// compactStep compacts at prev (when set) and returns etcd's current
// revision, the next step's target.
func compactStep(ctx context.Context, cli *clientv3.Client, prev int64) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := cli.Get(ctx, "gleaner-compaction-probe", clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	cur := resp.Header.Revision
	if prev > 0 && prev < cur {
		if _, err := cli.Compact(ctx, prev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			return cur, fmt.Errorf("compact at %d: %w", prev, err)
		}
	}
	return cur, nil
}
