package reserver

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/master"
	"github.com/mesos/mesos-go/api/v1/lib/master/calls"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

func res(cpus, mem float64) policy.Resources { return policy.Resources{CPUs: cpus, MemMB: mem} }

func TestPlan(t *testing.T) {
	st := func(reserved, alloc, free policy.Resources) State {
		return State{Reserved: reserved, Allocated: alloc, FreeUnreserved: free}
	}
	cases := []struct {
		name   string
		st     State
		target policy.Resources
		want   []Op
	}{
		{"nothing to do", st(res(2, 1024), res(0, 0), res(2, 1024)), res(2, 1024), nil},
		{"below granularity", st(res(2, 1024), res(0, 0), res(2, 1024)), res(2.004, 1024.5), nil},
		{"grow both", st(res(1, 512), res(0, 0), res(4, 4096)), res(2.5, 1536),
			[]Op{{Reserve, "cpus", 1.5, false}, {Reserve, "mem", 1024, false}}},
		{"grow limited by free unreserved", st(res(1, 512), res(0, 0), res(0.5, 100)), res(2.5, 1536),
			[]Op{{Reserve, "cpus", 0.5, true}, {Reserve, "mem", 100, true}}},
		{"grow rounds down", st(res(0, 0), res(0, 0), res(8, 8000)), res(1.2345, 700.9),
			[]Op{{Reserve, "cpus", 1.23, false}, {Reserve, "mem", 700, false}}},
		{"shrink unused", st(res(4, 4096), res(1, 1024), res(0, 0)), res(2, 2048),
			[]Op{{Unreserve, "cpus", 2, false}, {Unreserve, "mem", 2048, false}}},
		{"shrink only what is unused", st(res(4, 4096), res(3, 3500), res(0, 0)), res(1, 1024),
			[]Op{{Unreserve, "cpus", 1, true}, {Unreserve, "mem", 596, true}}},
		{"shrink all in use: nothing", st(res(2, 2048), res(2, 2048), res(0, 0)), res(0, 0), nil},
		{"shrink to zero exactly", st(res(1.234, 100.5), res(0, 0), res(0, 0)), res(0, 0),
			[]Op{{Unreserve, "cpus", 1.234, false}, {Unreserve, "mem", 100.5, false}}},
		{"negative target is zero", st(res(1, 0), res(0, 0), res(0, 0)), res(-3, -1),
			[]Op{{Unreserve, "cpus", 1, false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.st, tc.target)
			if len(got) != len(tc.want) {
				t.Fatalf("ops %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Kind != w.Kind || g.Name != w.Name || math.Abs(g.Amount-w.Amount) > 1e-6 || g.Partial != w.Partial {
					t.Errorf("op %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// fakeMaster is a tiny operator endpoint for one agent: GET_AGENTS,
// RESERVE_RESOURCES and UNRESERVE_RESOURCES with the 409 rule (only
// available resources can be converted) and optional basic auth.
type fakeMaster struct {
	mu                  sync.Mutex
	hostname, role      string
	total, reserved     policy.Resources
	allocUnres, allocRs policy.Resources // allocated unreserved / reserved
	user, pass          string
	calls               []string
	principals          []string
}

func (f *fakeMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1" {
		http.NotFound(w, r)
		return
	}
	if f.user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != f.user || p != f.pass {
			wire.WriteError(w, wire.Errorf(http.StatusUnauthorized, "unauthenticated"))
			return
		}
	}
	var call master.Call
	req, err := wire.ReadCall(r, &call)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call.Type.String())
	switch call.Type {
	case master.Call_GET_AGENTS:
		wire.WriteMessage(w, req.ResponseCodec, &master.Response{Type: master.Response_GET_AGENTS, GetAgents: f.agents()})
	case master.Call_RESERVE_RESOURCES:
		for _, rs := range call.ReserveResources.Resources {
			if !ours(rs, f.role) || rs.AllocationInfo != nil {
				wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "bad reservation %v", rs))
				return
			}
			f.principals = append(f.principals, rs.Reservations[0].GetPrincipal())
		}
		d := sum(call.ReserveResources.Resources)
		free := policy.Resources{CPUs: f.total.CPUs - f.reserved.CPUs - f.allocUnres.CPUs, MemMB: f.total.MemMB - f.reserved.MemMB - f.allocUnres.MemMB}
		if d.CPUs > free.CPUs+1e-9 || d.MemMB > free.MemMB+1e-9 {
			wire.WriteError(w, wire.Errorf(http.StatusConflict, "insufficient"))
			return
		}
		f.reserved.CPUs += d.CPUs
		f.reserved.MemMB += d.MemMB
		w.WriteHeader(http.StatusAccepted)
	case master.Call_UNRESERVE_RESOURCES:
		d := sum(call.UnreserveResources.Resources)
		if d.CPUs > f.reserved.CPUs-f.allocRs.CPUs+1e-9 || d.MemMB > f.reserved.MemMB-f.allocRs.MemMB+1e-9 {
			wire.WriteError(w, wire.Errorf(http.StatusConflict, "insufficient"))
			return
		}
		f.reserved.CPUs -= d.CPUs
		f.reserved.MemMB -= d.MemMB
		w.WriteHeader(http.StatusAccepted)
	default:
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "unsupported %s", call.Type))
	}
}

func sum(rs []mesos.Resource) policy.Resources {
	var p policy.Resources
	for _, r := range rs {
		add(&p, r)
	}
	return p
}

func scalar(name string, v float64, role string) mesos.Resource {
	r := mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
	if role != "" {
		r.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: &role}}
	}
	return r
}

func (f *fakeMaster) agents() *master.Response_GetAgents {
	id := "M-S0"
	other := "other-host"
	unres := policy.Resources{CPUs: f.total.CPUs - f.reserved.CPUs, MemMB: f.total.MemMB - f.reserved.MemMB}
	return &master.Response_GetAgents{Agents: []master.Response_GetAgents_Agent{
		{AgentInfo: mesos.AgentInfo{Hostname: other, ID: &mesos.AgentID{Value: "M-S9"}}, Active: true,
			TotalResources: []mesos.Resource{scalar("cpus", 64, f.role), scalar("mem", 1e6, f.role)}},
		{AgentInfo: mesos.AgentInfo{Hostname: f.hostname, ID: &mesos.AgentID{Value: id}}, Active: true,
			TotalResources: []mesos.Resource{
				scalar("cpus", unres.CPUs, ""), scalar("mem", unres.MemMB, ""),
				scalar("cpus", f.reserved.CPUs, f.role), scalar("mem", f.reserved.MemMB, f.role),
				// someone else's role is neither ours nor free
				scalar("disk", 100, "other"),
			},
			AllocatedResources: []mesos.Resource{
				scalar("cpus", f.allocUnres.CPUs, ""), scalar("mem", f.allocUnres.MemMB, ""),
				scalar("cpus", f.allocRs.CPUs, f.role), scalar("mem", f.allocRs.MemMB, f.role),
			},
		},
	}}
}

func start(t *testing.T, f *fakeMaster, cfg Config) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.MasterURL = srv.URL
	if cfg.Hostname == "" {
		cfg.Hostname = f.hostname
	}
	if cfg.Role == "" {
		cfg.Role = f.role
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func near(a, b policy.Resources) bool {
	return math.Abs(a.CPUs-b.CPUs) < 1e-6 && math.Abs(a.MemMB-b.MemMB) < 1e-6
}

func TestApplyGrowShrinkIdempotent(t *testing.T) {
	f := &fakeMaster{hostname: "h1", role: "batch", total: res(8, 16384)}
	c := start(t, f, Config{Principal: "gleaner"})
	ctx := context.Background()

	r, err := c.Apply(ctx, res(3, 4096))
	if err != nil || !near(r.Reserved, res(3, 4096)) || !near(f.reserved, res(3, 4096)) {
		t.Fatalf("grow: %v, result %+v, master %+v", err, r.Reserved, f.reserved)
	}
	if f.principals[0] != "gleaner" {
		t.Errorf("reservation principal %q", f.principals[0])
	}
	// A second Apply (e.g. a restarted monitor) changes nothing.
	n := len(f.calls)
	r, err = c.Apply(ctx, res(3, 4096))
	if err != nil || len(r.Done) != 0 || len(f.calls) != n+1 || !near(f.reserved, res(3, 4096)) {
		t.Fatalf("idempotent apply: %v, done %+v, calls %v, master %+v", err, r.Done, f.calls[n:], f.reserved)
	}
	// Shrink while 2 cpus / 3000 MB are in use: only the rest goes.
	f.allocRs = res(2, 3000)
	r, err = c.Apply(ctx, res(0.5, 1024))
	if err != nil || !r.Partial || !near(f.reserved, res(2, 3000)) {
		t.Fatalf("partial shrink: %v, partial %v, master %+v", err, r.Partial, f.reserved)
	}
	// Tasks end: the rest can go.
	f.allocRs = res(0, 0)
	if _, err = c.Apply(ctx, res(0.5, 1024)); err != nil || !near(f.reserved, res(0.5, 1024)) {
		t.Fatalf("shrink after tasks ended: %v, master %+v", err, f.reserved)
	}
	st, err := c.State(ctx)
	if err != nil || st.AgentID != "M-S0" || !near(st.Total, res(8, 16384)) || !near(st.Reserved, res(0.5, 1024)) {
		t.Fatalf("state %+v %v", st, err)
	}
}

func TestApplyConflictIsReported(t *testing.T) {
	f := &fakeMaster{hostname: "h1", role: "batch", total: res(4, 4096), reserved: res(2, 2048)}
	c := start(t, f, Config{})
	// GET_AGENTS says 1 cpu is reserved-and-free, but a task takes it
	// between the read and the call: the master answers 409.
	f.allocRs = res(0, 0)
	orig := c.sender
	c.sender = racingSender{orig, func() { f.mu.Lock(); f.allocRs = res(2, 0); f.mu.Unlock() }}
	r, err := c.Apply(context.Background(), res(1, 1024))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
	if !r.Partial || !near(f.reserved, res(2, 1024)) || !near(r.Reserved, res(2, 1024)) {
		t.Fatalf("partial %v, result %+v, master %+v", r.Partial, r.Reserved, f.reserved)
	}
}

func TestBasicAuth(t *testing.T) {
	f := &fakeMaster{hostname: "h1", role: "batch", total: res(4, 4096), user: "gleaner", pass: "s3cret"}
	if _, err := start(t, f, Config{Principal: "gleaner", Secret: "s3cret"}).State(context.Background()); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	if _, err := start(t, f, Config{Principal: "gleaner", Secret: "wrong"}).State(context.Background()); err == nil {
		t.Fatal("wrong secret accepted")
	}
}

func TestAgentNotFound(t *testing.T) {
	f := &fakeMaster{hostname: "h1", role: "batch", total: res(4, 4096)}
	_, err := start(t, f, Config{Hostname: "nope"}).State(context.Background())
	if !errors.Is(err, ErrAgentNotFound) {
		t.Fatalf("want ErrAgentNotFound, got %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{MasterURL: "http://127.0.0.1:5050", Hostname: "h", Role: "batch"}
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.MasterURL = "127.0.0.1:5050" }, "master url"},
		{func(c *Config) { c.Hostname = "" }, "agent hostname"},
		{func(c *Config) { c.Role = "*" }, "role"},
		{func(c *Config) { c.Secret = "x" }, "principal"},
	}
	for _, tc := range cases {
		c := ok
		tc.mut(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
	if _, err := New(ok); err != nil {
		t.Error(err)
	}
}

// racingSender runs hook before each call that changes the reservation,
// imitating a task launched between GET_AGENTS and the call.
type racingSender struct {
	calls.Sender
	hook func()
}

func (s racingSender) Send(ctx context.Context, r calls.Request) (mesos.Response, error) {
	if r.Call().Type != master.Call_GET_AGENTS {
		s.hook()
	}
	return s.Sender.Send(ctx, r)
}
