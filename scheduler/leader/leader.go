package leader

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Term is one leadership term.
type Term struct {
	session  *concurrency.Session
	election *concurrency.Election
	cancel   context.CancelFunc
}

// Campaign blocks until this process leads (or ctx ends). value is
// published to standbys (Gleaner uses the leader's API URL). ttl is the
// lease TTL in seconds: how long a dead leader keeps the term.
//
// The lease is granted within a bounded time, and a campaign whose lease
// is lost while it waits (etcd unreachable for longer than the lease)
// ends with ErrSessionLost instead of later "winning" with a dead session
// and a deleted key.
func Campaign(ctx context.Context, cli *clientv3.Client, prefix, value string, ttl int) (*Term, error) {
	gctx, gcancel := context.WithTimeout(ctx, grantTimeout)
	lease, err := cli.Grant(gctx, int64(ttl))
	gcancel()
	if err != nil {
		return nil, fmt.Errorf("leader session: grant lease: %w", err)
	}
	// The session outlives ctx so that Resign can still revoke its lease
	// after ctx ended (SIGTERM); Abandon and Resign end it.
	sctx, cancel := context.WithCancel(context.Background())
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl), concurrency.WithLease(lease.ID), concurrency.WithContext(sctx))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("leader session: %w", err)
	}
	e := concurrency.NewElection(s, prefix+"leader")
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-s.Done():
			stop()
		case <-cctx.Done():
		}
	}()
	if err := e.Campaign(cctx, value); err != nil || sessionEnded(s) {
		s.Orphan()
		cancel()
		if ctx.Err() == nil && sessionEnded(s) {
			return nil, fmt.Errorf("campaign: %w", ErrSessionLost)
		}
		if err == nil {
			err = ErrSessionLost
		}
		return nil, fmt.Errorf("campaign: %w", err)
	}
	return &Term{session: s, election: e, cancel: cancel}, nil
}

// grantTimeout bounds granting a campaign's lease.
const grantTimeout = 10 * time.Second

// ErrSessionLost: the campaign's lease ended (expired or revoked) before
// it won; campaign again with a new one.
var ErrSessionLost = errors.New("leader session lost while campaigning")

func sessionEnded(s *concurrency.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// Key is the election key of this term; Rev its create revision. Writes
// fenced with clientv3.Compare(CreateRevision(Key), "=", Rev) only land
// while the term lasts.
func (t *Term) Key() string { return t.election.Key() }

// Rev is the create revision of Key.
func (t *Term) Rev() int64 { return t.election.Rev() }

// Done is closed when the term's lease is lost (expired or revoked).
func (t *Term) Done() <-chan struct{} { return t.session.Done() }

// Resign ends the term at once so a standby takes over without waiting for
// the lease to expire (SIGTERM).
func (t *Term) Resign(ctx context.Context) error {
	defer t.cancel()
	err := t.election.Resign(ctx)
	if cerr := t.session.Close(); err == nil {
		err = cerr
	}
	return err
}

// Abandon stops keeping the lease alive without resigning: the term ends
// when the lease expires (what a crashed leader looks like; tests).
func (t *Term) Abandon() {
	t.session.Orphan()
	t.cancel()
}

// Current returns the value the current leader published, or "" if there
// is no leader.
func Current(ctx context.Context, cli *clientv3.Client, prefix string) (string, error) {
	resp, err := cli.Get(ctx, prefix+"leader/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("get leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// ErrNoLeader is returned by WaitLeader when ctx ends without a leader.
var ErrNoLeader = errors.New("no leader elected")

// WaitLeader polls until some process leads, returning its value.
func WaitLeader(ctx context.Context, cli *clientv3.Client, prefix string) (string, error) {
	for {
		v, err := Current(ctx, cli, prefix)
		if err == nil && v != "" {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return "", ErrNoLeader
		case <-time.After(50 * time.Millisecond):
		}
	}
}
