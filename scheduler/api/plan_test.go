package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

func TestPlanSpec(t *testing.T) {
	agents := []placement.Agent{
		{Hostname: "h1", Attrs: map[string]string{"zone": "a"}, Capacity: placement.Resources{CPUs: 4, Mem: 4096}},
		{Hostname: "h2", Attrs: map[string]string{"zone": "b"}, Capacity: placement.Resources{CPUs: 2, Mem: 2048}},
		{Hostname: "h3", Attrs: map[string]string{"zone": "b"}}, // size not known yet
	}
	sp, err := spec.Parse([]byte(`name: p
tasks:
  - {name: small, command: x, resources: {cpus: 1, mem: 64}}
  - {name: big, command: x, resources: {cpus: 3, mem: 64}}
  - {name: huge, command: x, resources: {cpus: 8, mem: 64}, constraints: [[zone, IS, a]]}
  - {name: gpu, command: x, constraints: [[gpu, EXISTS]]}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanSpec(sp, agents)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		feasible bool
		agents   int
		reason   string
	}{
		"small": {true, 3, ""},
		"big":   {true, 2, ""},                      // h1, and h3 whose size is unknown
		"huge":  {false, 0, "constraint zone IS a"}, // h2, h3; then h1 is too small
		"gpu":   {false, 0, "constraint gpu EXISTS"},
	}
	for _, tp := range p.Tasks {
		w := want[tp.Name]
		if tp.Feasible != w.feasible || tp.Agents != w.agents {
			t.Errorf("%s: %+v; want %+v", tp.Name, tp, w)
		}
		if w.reason != "" && (len(tp.Reasons) == 0 || tp.Reasons[0].Reason != w.reason) {
			t.Errorf("%s reasons %+v; want first %q", tp.Name, tp.Reasons, w.reason)
		}
	}
	if r := p.Tasks[2].Reasons; len(r) != 2 || r[1] != (placement.ReasonCount{Reason: "agent has 4 cpus, task asks 8", Count: 1}) {
		t.Errorf("huge reasons: %+v", r)
	}
	if p.Agents != 3 || p.Warning != "" {
		t.Fatalf("plan: %+v", p)
	}
	// No agent known: nothing can be judged, nothing is refused.
	p, _ = PlanSpec(sp, nil)
	if p.Warning == "" || !p.Tasks[2].Feasible {
		t.Fatalf("without agents: %+v", p)
	}
}

// agentBackend knows two agents (no etcd attributes).
type agentBackend struct{ *fakeBackend }

func (agentBackend) Agents() []attrs.AgentInfo {
	return []attrs.AgentInfo{
		{Hostname: "h1", MesosAttrs: map[string]string{"zone": "a"}, Resources: placement.Resources{CPUs: 4, Mem: 4096}},
		{Hostname: "h2", MesosAttrs: map[string]string{"zone": "b"}, Resources: placement.Resources{CPUs: 4, Mem: 4096}},
	}
}
func (agentBackend) Attrs() *attrs.Store { return nil }

// POST /v1/jobs?dryRun=true validates and plans, and stores nothing.
func TestDryRunSubmit(t *testing.T) {
	f := &fakeBackend{st: store.NewMemory(), leader: true}
	srv := httptest.NewServer(Handler(agentBackend{f}, Config{Auth: testGuard()}))
	defer srv.Close()
	resp, m := do(t, "POST", srv.URL+"/v1/jobs?dryRun=true", "name: p\ntasks: [{name: a, command: x, constraints: [[zone, IS, c]]}, {name: b, command: x}]", adminToken)
	if resp.StatusCode != http.StatusOK || m["agents"] != 2.0 {
		t.Fatalf("dry run: %d %v", resp.StatusCode, m)
	}
	tasks := m["tasks"].([]any)
	a, b := tasks[0].(map[string]any), tasks[1].(map[string]any)
	if a["feasible"] != false || a["reasons"].([]any)[0].(map[string]any)["reason"] != "constraint zone IS c" || b["feasible"] != true {
		t.Fatalf("tasks: %v", tasks)
	}
	if jobs, _ := f.st.ListJobs(context.Background()); len(jobs) != 0 {
		t.Fatalf("a dry run stored %d jobs", len(jobs))
	}
	if resp, m = do(t, "POST", srv.URL+"/v1/jobs?dryRun=true", "name: p\ntasks: [{name: a, comand: x}]", adminToken); resp.StatusCode != http.StatusBadRequest || m["field"] != "tasks[0].comand" {
		t.Fatalf("invalid spec: %d %v", resp.StatusCode, m)
	}
	if resp, m = do(t, "POST", srv.URL+"/v1/jobs?dryRun=maybe", "name: p\ntasks: [{name: a, command: x}]", adminToken); resp.StatusCode != http.StatusBadRequest || m["field"] != "dryRun" {
		t.Fatalf("bad dryRun: %d %v", resp.StatusCode, m)
	}
}
