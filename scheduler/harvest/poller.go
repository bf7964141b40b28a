package harvest

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/monitor"
)

// Poller feeds a History from etcd.
type Poller struct {
	Client *clientv3.Client
	// Prefix is the scheduler's etcd prefix (e.g. "/gleaner/").
	Prefix string
	// Interval between heartbeat reads (default 15 s).
	Interval time.Duration
	History  *History
	Log      *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// maxBeat bounds one heartbeat record decoded; a larger one is skipped.
const maxBeat = 64 << 10

// Run polls until ctx ends: a read at once, then one per Interval, and a
// watch of the eviction requests meanwhile.
func (p *Poller) Run(ctx context.Context) {
	if p.Interval <= 0 {
		p.Interval = 15 * time.Second
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	go p.watchEvictions(ctx)
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.Log.Warn("harvest: read monitor heartbeats", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads every heartbeat once and records them.
func (p *Poller) Poll(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := p.Client.Get(rctx, p.Prefix+"monitors/", clientv3.WithPrefix())
	if err != nil {
		return err
	}
	beats := make([]monitor.Status, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		host := strings.TrimPrefix(string(kv.Key), p.Prefix+"monitors/")
		st, ok := DecodeBeat(host, kv.Value)
		if !ok {
			p.Log.Debug("harvest: heartbeat skipped", "key", string(kv.Key))
			continue
		}
		beats = append(beats, st)
	}
	p.History.Record(p.Now(), beats)
	return nil
}

// DecodeBeat decodes a heartbeat record of host (its key's last part); ok
// is false for a record too large, not JSON, or naming another host.
func DecodeBeat(host string, b []byte) (monitor.Status, bool) {
	var st monitor.Status
	if len(b) > maxBeat || host == "" || strings.Contains(host, "/") || json.Unmarshal(b, &st) != nil {
		return st, false
	}
	if st.Hostname == "" {
		st.Hostname = host
	}
	return st, st.Hostname == host
}

// watchEvictions counts every eviction request created, until ctx ends.
func (p *Poller) watchEvictions(ctx context.Context) {
	prefix := p.Prefix + "evictions/"
	for ctx.Err() == nil {
		wch := p.Client.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete())
		for wr := range wch {
			for _, ev := range wr.Events {
				if ev.IsCreate() {
					p.History.Evicted(strings.TrimPrefix(string(ev.Kv.Key), prefix))
				}
			}
		}
		select { // the watch broke (etcd restart, lost leader): again shortly
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
