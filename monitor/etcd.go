package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/gleaner-project/gleaner/monitor/policy"
)

// Status is the heartbeat record at <prefix>monitors/<hostname>, under a
// lease: its disappearance means the monitor is silent. It is rewritten (and
// the lease renewed) every third of the lease, and at once when a decision
// changes (target, reservation, throttle, eviction, error), so its usage
// figures may be a few samples old.
type Status struct {
	Hostname string    `json:"hostname"`
	AgentID  string    `json:"agent_id,omitempty"`
	Role     string    `json:"role"`
	Time     time.Time `json:"time"`
	// Capacity of the host; Business and Batch usage; Allowance for batch
	// (peak-held); Target of the reservation; Reserved as the master holds it.
	Capacity  policy.Resources `json:"capacity"`
	Business  policy.Resources `json:"business"`
	Batch     policy.Resources `json:"batch"`
	Allowance policy.Resources `json:"allowance"`
	Target    policy.Resources `json:"target"`
	Reserved  policy.Resources `json:"reserved"`
	// BatchDiskMB is the bundle cache's disk use (Config.BundleCacheDirs).
	BatchDiskMB float64 `json:"batch_disk_mb,omitempty"`
	// Throttled: the batch cgroups are capped at ThrottleCPUs.
	Throttled       bool    `json:"throttled"`
	ThrottleCPUs    float64 `json:"throttle_cpus,omitempty"`
	EvictionPending bool    `json:"eviction_pending,omitempty"`
	LastError       string  `json:"last_error,omitempty"`
}

// EvictionRequest is the record at <prefix>evictions/<hostname>; see
// README.md for the contract with the scheduler.
type EvictionRequest struct {
	ID          string    `json:"id"`
	Hostname    string    `json:"hostname"`
	CPUs        float64   `json:"cpus"`
	MemMB       float64   `json:"mem_mb"`
	Reason      string    `json:"reason"`
	RequestedAt time.Time `json:"requested_at"`
}

// HeartbeatKey and EvictionKey name the monitor's etcd keys.
func HeartbeatKey(prefix, hostname string) string { return prefix + "monitors/" + hostname }

// EvictionKey is where a host's eviction request lives.
func EvictionKey(prefix, hostname string) string { return prefix + "evictions/" + hostname }

// etcdLink writes the heartbeat and the eviction requests.
type etcdLink struct {
	cli      *clientv3.Client
	hbKey    string
	evKey    string
	ttl      time.Duration
	lease    clientv3.LeaseID
	hostname string
	// interval is the monitor's sampling interval: a heartbeat is due once
	// a third of the lease has passed, give or take half an interval.
	interval time.Duration
	wrote    time.Time // sample time of the last written heartbeat
	last     Status    // its decisions (heartbeatDecisions)
}

// heartbeatDecisions keeps the parts of a status whose change is worth a
// write at once (usage figures move every sample and ride along with the
// periodic write).
func heartbeatDecisions(st Status) Status {
	return Status{
		Hostname: st.Hostname, AgentID: st.AgentID, Role: st.Role,
		Target: st.Target, Reserved: st.Reserved,
		Throttled: st.Throttled, ThrottleCPUs: st.ThrottleCPUs,
		EvictionPending: st.EvictionPending, LastError: st.LastError,
	}
}

// beatDue reports whether the heartbeat must be written for st: none is
// written yet, a third of the lease has passed since the last (so the lease,
// renewed with each write, outlives two missed writes and still lapses
// within its TTL when the monitor stalls), or a decision changed.
func (e *etcdLink) beatDue(st Status) bool {
	return e.lease == 0 || st.Time.Sub(e.wrote)+e.interval/2 >= e.ttl/3 || heartbeatDecisions(st) != e.last
}

// beat writes the heartbeat when it is due (beatDue) and reports whether an
// eviction request is outstanding: with the write, in one round trip, or,
// between writes, with a count-only read while one was (pending) — nothing
// is sent otherwise, since only this monitor creates requests.
func (e *etcdLink) beat(ctx context.Context, st Status, pending bool) (evictionPending bool, err error) {
	if !e.beatDue(st) {
		if !pending {
			return false, nil
		}
		resp, err := e.cli.Get(ctx, e.evKey, clientv3.WithCountOnly())
		if err != nil {
			return true, fmt.Errorf("read eviction request: %w", err)
		}
		return resp.Count > 0, nil
	}
	pending, err = e.write(ctx, st)
	if err == nil {
		e.wrote, e.last = st.Time, heartbeatDecisions(st)
	}
	return pending, err
}

// write writes the heartbeat under the lease (granting a new one when it
// has expired, renewing it otherwise) and reads whether an eviction request
// is outstanding in the same transaction.
func (e *etcdLink) write(ctx context.Context, st Status) (evictionPending bool, err error) {
	if e.lease == 0 {
		g, err := e.cli.Grant(ctx, int64(max(e.ttl/time.Second, 1)))
		if err != nil {
			return false, fmt.Errorf("grant heartbeat lease: %w", err)
		}
		e.lease = g.ID
	} else if _, err := e.cli.KeepAliveOnce(ctx, e.lease); err != nil {
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			e.lease = 0
			return e.write(ctx, st)
		}
		return false, fmt.Errorf("renew heartbeat lease: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return false, fmt.Errorf("encode heartbeat: %w", err)
	}
	resp, err := e.cli.Txn(ctx).Then(
		clientv3.OpPut(e.hbKey, string(b), clientv3.WithLease(e.lease)),
		clientv3.OpGet(e.evKey, clientv3.WithCountOnly()),
	).Commit()
	if err != nil {
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			e.lease = 0
		}
		return false, fmt.Errorf("write heartbeat: %w", err)
	}
	return resp.Responses[1].GetResponseRange().Count > 0, nil
}

// requestEviction creates the eviction record unless one is outstanding;
// created is false when one already was.
func (e *etcdLink) requestEviction(ctx context.Context, ev policy.Eviction, now time.Time) (EvictionRequest, bool, error) {
	req := EvictionRequest{
		ID: uuid.NewString(), Hostname: e.hostname,
		CPUs: round3(ev.CPUs), MemMB: round3(ev.MemMB),
		Reason: ev.Reason, RequestedAt: now.UTC().Truncate(time.Second),
	}
	b, err := json.Marshal(req)
	if err != nil {
		return req, false, fmt.Errorf("encode eviction request: %w", err)
	}
	resp, err := e.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(e.evKey), "=", 0)).
		Then(clientv3.OpPut(e.evKey, string(b))).
		Commit()
	if err != nil {
		return req, false, fmt.Errorf("write eviction request: %w", err)
	}
	return req, resp.Succeeded, nil
}

// close revokes the lease so the heartbeat disappears at once.
func (e *etcdLink) close(ctx context.Context) {
	if e.lease != 0 {
		_, _ = e.cli.Revoke(ctx, e.lease)
		e.lease = 0
	}
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}

// nopZap silences the etcd client's own logging; the monitor logs errors.
func nopZap() *zap.Logger { return zap.NewNop() }
