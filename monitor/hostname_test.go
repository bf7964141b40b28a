package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/monitor/reserver"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

func TestMasterRetryDelay(t *testing.T) {
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for failures, w := range want {
		if got := masterRetryDelay(failures); got != w {
			t.Errorf("masterRetryDelay(%d) = %s, want %s", failures, got, w)
		}
	}
	if got := masterRetryDelay(1000); got != time.Minute {
		t.Errorf("masterRetryDelay(1000) = %s, want 1m", got)
	}
}

// unknownAgentMaster is a master that has no agent of the monitor's
// hostname; it counts the reads.
type unknownAgentMaster struct {
	mu    sync.Mutex
	reads int
}

func (f *unknownAgentMaster) State(context.Context) (reserver.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return reserver.State{}, fmt.Errorf("agent h1: %w", reserver.ErrAgentNotFound)
}

func (f *unknownAgentMaster) Apply(context.Context, policy.Resources) (reserver.Result, error) {
	return reserver.Result{}, fmt.Errorf("agent h1: %w", reserver.ErrAgentNotFound)
}

// countingHandler counts Warn records and keeps their text.
type countingHandler struct {
	mu    sync.Mutex
	warns []string
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	h.mu.Lock()
	h.warns = append(h.warns, b.String())
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// A monitor whose --agent-hostname the master does not know says so
// plainly (naming the hostname and the flag), keeps saying it in its
// status, and backs off: over ten minutes of one-second ticks it asks the
// master, and logs, about 15 times instead of 600.
func TestAgentHostnameMismatchBacksOff(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	r := newRig(t, etcd, &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}, newFakeHost(t, 4, 16384))
	mst := &unknownAgentMaster{}
	logs := &countingHandler{}
	r.m.res, r.m.log, r.m.haveState = mst, slog.New(logs), false
	var st Status
	for i := 0; i < 600; i++ {
		st = r.tick()
	}
	if mst.reads < 10 || mst.reads > 20 {
		t.Errorf("%d reads of the master in 600 ticks, want about 15 (backing off to one a minute)", mst.reads)
	}
	if len(logs.warns) != mst.reads {
		t.Errorf("%d warnings for %d failed reads, want one each", len(logs.warns), mst.reads)
	}
	for _, want := range []string{`no agent with hostname "h1" is registered`, "--agent-hostname must be the hostname the Mesos agent registered with"} {
		if len(logs.warns) == 0 || !strings.Contains(logs.warns[0], want) {
			t.Errorf("first warning %q, want it to say %q", logs.warns, want)
		}
		if !strings.Contains(st.LastError, want) {
			t.Errorf("status error %q between reads, want it to say %q", st.LastError, want)
		}
	}
}
