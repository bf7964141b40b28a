package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/framework"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

const placementToken = e2eAdminToken

// placementAPI serves the node's API with /v1/agents mounted as
// `gleaner scheduler` does (the node as the agent source, the token
// recorded as admin).
func placementAPI(t *testing.T, n *node.Node) string {
	t.Helper()
	h := attrs.NewHandler(attrs.HandlerConfig{Store: n.Attrs(), Source: n, Log: testLogger(t)})
	srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard(), Logger: testLogger(t),
		Mount: map[string]http.Handler{"/v1/agents": h, "/v1/agents/": h}}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// call does one HTTP request and decodes a JSON answer into out (if not nil).
func call(t *testing.T, method, url, token, body string, out any) int {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token == "" && method == http.MethodGet {
		token = e2eReaderToken // every read needs a token; the read-only one does
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}

// The tests set attributes ahead of the agents' first offers, as an
// operator preparing hosts does: allow-unknown.
func setAttrs(t *testing.T, base, host, patch string) {
	t.Helper()
	if code := call(t, "PATCH", base+"/v1/agents/"+host+"/attributes?allow-unknown=true", placementToken, patch, nil); code != http.StatusOK {
		t.Fatalf("PATCH %s attributes %s: %d", host, patch, code)
	}
}

// running returns the hosts of the job's running attempts by instance.
func runningHosts(as []job.Attempt) map[string]string {
	out := map[string]string{}
	last := map[string]job.Attempt{}
	for _, a := range as {
		k := fmt.Sprintf("%s/%d", a.Task, a.Index)
		if l, ok := last[k]; !ok || a.Attempt > l.Attempt {
			last[k] = a
		}
	}
	for k, a := range last {
		if a.State == job.AttemptRunning {
			out[k] = a.Hostname
		}
	}
	return out
}

func simEnv(t *testing.T, agents int, cfg localmesos.Config) *schedEnv {
	cfg.Agents, cfg.Simulated = agents, true
	if cfg.Resources == "" {
		cfg.Resources = "cpus:4;mem:4096;disk:1024"
	}
	return newSchedEnv(t, cfg)
}

// An attribute set over HTTP: the task constrained on it lands only there.
// Removed (and set on another host): the running instances move there,
// killed and requeued as lost without using a retry (retries: 0).
func TestPlacementAttributeOverHTTPAndMove(t *testing.T) {
	env := simEnv(t, 3, localmesos.Config{})
	n, _ := env.startNode("a")
	base := placementAPI(t, n)
	waitFor(t, "subscription", 20*time.Second, n.Subscribed)
	setAttrs(t, base, "local-agent-2", `{"ssd":"yes"}`)
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: ssd
tasks:
  - name: a
    command: "true"
    instances: 3
    retries: 0
    resources: {cpus: 0.5, mem: 32}
    constraints: [[ssd, IS, "yes"]]
    labels: {"localmesos.sim/duration": "60s"}
`))
	waitFor(t, "3 instances running", 20*time.Second, func() bool {
		_, as := status(t, n, j.ID)
		return len(runningHosts(as)) == 3
	})
	_, as := status(t, n, j.ID)
	for inst, h := range runningHosts(as) {
		if h != "local-agent-2" {
			t.Fatalf("%s runs on %s, want local-agent-2 only", inst, h)
		}
	}

	setAttrs(t, base, "local-agent-3", `{"ssd":"yes"}`)
	if code := call(t, "DELETE", base+"/v1/agents/local-agent-2/attributes/ssd", placementToken, "", nil); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	waitFor(t, "every instance moved to local-agent-3", 30*time.Second, func() bool {
		_, as := status(t, n, j.ID)
		hs := runningHosts(as)
		if len(hs) != 3 {
			return false
		}
		for _, h := range hs {
			if h != "local-agent-3" {
				return false
			}
		}
		return true
	})
	st, as := status(t, n, j.ID)
	if st.State != job.Running || st.Tasks[0].Counts.Failed != 0 {
		t.Fatalf("after the move: %+v", st)
	}
	moved := 0
	for _, a := range as {
		if a.Hostname == "local-agent-2" {
			if a.State != job.AttemptLost || a.Reason != framework.ReasonMoved {
				t.Fatalf("attempt on the old host: %+v", a)
			}
			moved++
		}
	}
	if moved != 3 {
		t.Fatalf("%d attempts moved, want 3: %+v", moved, as)
	}
	if _, err := n.Kill(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := waitJob(t, n, j.ID, 30*time.Second); st.State != job.Killed {
		t.Fatalf("job %s", st.State)
	}
}

// UNIQUE hostname spreads instances one per host; the fourth waits with
// "unique taken" as its reason, then runs once a host is free again.
func TestPlacementUniqueSpreads(t *testing.T) {
	env := simEnv(t, 3, localmesos.Config{})
	n, _ := env.startNode("a")
	base := placementAPI(t, n)
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: uniq
tasks:
  - name: a
    command: "true"
    instances: 4
    resources: {cpus: 0.1, mem: 32}
    constraints: [[hostname, UNIQUE]]
    labels: {"localmesos.sim/duration": "2s"}
`))
	var v api.JobView
	waitFor(t, "the fourth instance explained", 20*time.Second, func() bool {
		v = api.JobView{}
		call(t, "GET", base+"/v1/jobs/"+j.ID, "", "", &v)
		return len(v.Tasks) == 1 && v.Tasks[0].Counts.Running == 3 && v.Tasks[0].Why != nil
	})
	w := v.Tasks[0].Why
	if w.Code != placement.UnschedulableNow || !hasReason(w.Reasons, "unique taken") {
		t.Fatalf("why: %+v", w)
	}
	st, as := waitJob(t, n, j.ID, 30*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %+v", st)
	}
	hosts := map[string]int{}
	for _, a := range as {
		hosts[a.Hostname]++
	}
	if len(hosts) != 3 {
		t.Fatalf("instances on %v, want the 3 hosts", hosts)
	}
	overlap(t, as)
}

// overlap fails if two attempts of the job ran on one host at once.
func overlap(t *testing.T, as []job.Attempt) {
	t.Helper()
	for i, a := range as {
		for _, b := range as[i+1:] {
			if a.Hostname == b.Hostname && a.Started.Before(b.Ended) && b.Started.Before(a.Ended) {
				t.Fatalf("%s and %s overlap on %s", a.TaskID(), b.TaskID(), a.Hostname)
			}
		}
	}
}

func hasReason(rs []placement.ReasonCount, want string) bool {
	for _, r := range rs {
		if r.Reason == want {
			return true
		}
	}
	return false
}

// GROUP_BY zone balances instances across zones, with one agent's Mesos
// zone overridden in etcd (etcd wins).
func TestPlacementGroupByZone(t *testing.T) {
	env := simEnv(t, 4, localmesos.Config{Attributes: "zone:a", PerAgent: map[int]localmesos.AgentOverride{2: {Attributes: "zone:b"}}})
	cli := env.client()
	if _, err := attrs.NewStore(cli, env.prefix).Put(context.Background(), "local-agent-4", map[string]string{"zone": "b"}, "test"); err != nil {
		t.Fatal(err)
	}
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: zones
tasks:
  - name: a
    command: "true"
    instances: 6
    resources: {cpus: 0.1, mem: 32}
    constraints: [[zone, GROUP_BY]]
    labels: {"localmesos.sim/duration": "3s"}
`))
	zone := map[string]string{"local-agent-1": "a", "local-agent-2": "a", "local-agent-3": "b", "local-agent-4": "b"}
	var hs map[string]string
	waitFor(t, "6 instances running", 20*time.Second, func() bool {
		_, as := status(t, n, j.ID)
		hs = runningHosts(as)
		return len(hs) == 6
	})
	per := map[string]int{}
	for _, h := range hs {
		per[zone[h]]++
	}
	if per["a"] != 3 || per["b"] != 3 {
		t.Fatalf("per zone %v, want 3 and 3 (%v)", per, hs)
	}
	if st, _ := waitJob(t, n, j.ID, 30*time.Second); st.State != job.Succeeded {
		t.Fatalf("job %+v", st)
	}
}

// A high-priority job preempts one low-priority instance (the least work
// lost, no more than needed); the victim is requeued without using a retry
// (retries: 0) and the low job still succeeds.
func TestPlacementPreemption(t *testing.T) {
	env := simEnv(t, 1, localmesos.Config{Resources: "cpus:2;mem:1024;disk:1024"})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.PreemptAfter = 300 * time.Millisecond })
	low := submit(t, []*node.Node{n}, mustSpec(t, `
name: low
priority: 10
tasks:
  - name: a
    command: "true"
    instances: 2
    retries: 0
    resources: {cpus: 1, mem: 32}
    labels: {"localmesos.sim/duration": "3s"}
`))
	waitFor(t, "low running on both cpus", 20*time.Second, func() bool {
		_, as := status(t, n, low.ID)
		return len(runningHosts(as)) == 2
	})
	high := submit(t, []*node.Node{n}, mustSpec(t, `
name: high
priority: 500
tasks:
  - name: a
    command: "true"
    resources: {cpus: 1, mem: 32}
    labels: {"localmesos.sim/duration": "200ms"}
`))
	hst, has := waitJob(t, n, high.ID, 30*time.Second)
	if hst.State != job.Succeeded {
		t.Fatalf("high: %+v", hst)
	}
	lst, las := waitJob(t, n, low.ID, 30*time.Second)
	if lst.State != job.Succeeded {
		t.Fatalf("low: %+v %+v", lst, las)
	}
	preempted := 0
	for _, a := range las {
		if a.Reason == framework.ReasonPreempted {
			if a.State != job.AttemptLost {
				t.Fatalf("preempted attempt %+v", a)
			}
			preempted++
			if !a.Ended.Before(has[0].Started) && !a.Ended.Equal(has[0].Started) {
				t.Fatalf("victim ended %v after the high instance started %v", a.Ended, has[0].Started)
			}
		}
	}
	if preempted != 1 || len(las) != 3 {
		t.Fatalf("%d preempted, %d attempts, want 1 and 3: %+v", preempted, len(las), las)
	}
}

// Bad attribute edits get 4xx answers naming the field and change nothing.
func TestPlacementBadAttributeEdits(t *testing.T) {
	env := simEnv(t, 1, localmesos.Config{})
	n, _ := env.startNode("a")
	base := placementAPI(t, n)
	setAttrs(t, base, "local-agent-1", `{"rack":"r1"}`)
	// Edits of a host no offer has shown yet are refused as unknown.
	waitFor(t, "the agent's first offer", 20*time.Second, func() bool { return len(n.Agents()) == 1 })
	for _, c := range []struct {
		method, path, token, body string
		code                      int
		field                     string
	}{
		{"PATCH", "/v1/agents/local-agent-1/attributes", "", `{"rack":"r2"}`, 401, "Authorization"},
		{"PATCH", "/v1/agents/local-agent-1/attributes", "wrong", `{"rack":"r2"}`, 401, "Authorization"},
		{"PUT", "/v1/agents/local-agent-1/attributes", placementToken, `{"bad key":"x"}`, 400, ""},
		{"PUT", "/v1/agents/local-agent-1/attributes", placementToken, `{"rack":"a\nb"}`, 400, ""},
		{"PUT", "/v1/agents/local-agent-1/attributes", placementToken, `{"rack":1}`, 400, ""},
		{"PUT", "/v1/agents/local-agent-1/attributes", placementToken, `not json`, 400, ""},
		{"PUT", "/v1/agents/bad_host!/attributes", placementToken, `{"rack":"r2"}`, 400, ""},
	} {
		var e struct{ Error, Field string }
		got := call(t, c.method, base+c.path, c.token, c.body, &e)
		if got != c.code || e.Error == "" || (c.field != "" && e.Field != c.field) {
			t.Errorf("%s %s %s: %d %+v, want %d field %q", c.method, c.path, c.body, got, e, c.code, c.field)
		}
	}
	var got map[string]any
	call(t, "GET", base+"/v1/agents/local-agent-1/attributes", "", "", &got)
	if a, _ := got["attributes"].(map[string]any); len(a) != 1 || a["rack"] != "r1" {
		t.Fatalf("attributes after bad edits: %v", got)
	}
	var hist struct{ Changes []attrs.Change }
	call(t, "GET", base+"/v1/agents/local-agent-1/attributes/history", "", "", &hist)
	if len(hist.Changes) != 1 || hist.Changes[0].Who != "admin" {
		t.Fatalf("history: %+v", hist)
	}
}

// A task no agent can ever take is reported as such and the framework
// suppresses offers; once an agent gets the attribute, it runs.
func TestPlacementNeverFitsSuppresses(t *testing.T) {
	env := simEnv(t, 2, localmesos.Config{})
	n, _ := env.startNode("a")
	base := placementAPI(t, n)
	metric := func(k string) float64 { return env.mesos.Master().Metrics()[k] }
	waitFor(t, "SUPPRESS while idle", 20*time.Second, func() bool { return metric("master/messages_suppress_offers") >= 1 })
	sup := metric("master/messages_suppress_offers")
	revBefore := metric("master/messages_revive_offers")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: gpu
tasks:
  - name: train
    command: "true"
    constraints: [[gpu, EXISTS]]
    labels: {"localmesos.sim/duration": "100ms"}
`))
	var v api.JobView
	waitFor(t, "why pending", 20*time.Second, func() bool {
		v = api.JobView{}
		call(t, "GET", base+"/v1/jobs/"+j.ID, "", "", &v)
		return len(v.Tasks) == 1 && v.Tasks[0].Why != nil
	})
	if w := v.Tasks[0].Why; w.Code != placement.UnschedulableForever || !hasReason(w.Reasons, "constraint gpu EXISTS") {
		t.Fatalf("why: %+v", w)
	}
	// Suppressed with only never-fitting work: either the submit revived and
	// a SUPPRESS followed once the task was judged, or the task was judged
	// before the revive went out and the framework never revived at all.
	waitFor(t, "suppressed with only never-fitting work", 20*time.Second, func() bool {
		return metric("master/messages_revive_offers") == revBefore || metric("master/messages_suppress_offers") > sup
	})
	// Stays suppressed: no REVIVE while nothing changes.
	rev := metric("master/messages_revive_offers")
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if metric("master/messages_revive_offers") != rev {
			t.Fatal("revived for work that can never fit")
		}
		time.Sleep(50 * time.Millisecond)
	}
	setAttrs(t, base, "local-agent-2", `{"gpu":"1"}`)
	st, as := waitJob(t, n, j.ID, 30*time.Second)
	if st.State != job.Succeeded || as[len(as)-1].Hostname != "local-agent-2" {
		t.Fatalf("job %+v %+v", st, as)
	}
	if metric("master/messages_revive_offers") <= rev {
		t.Fatal("no REVIVE after the attribute edit")
	}
}

// A new leader counts the instances it finds running for UNIQUE: the
// fourth instance still waits for a free host after a failover.
func TestPlacementUniqueAcrossFailover(t *testing.T) {
	env := simEnv(t, 3, localmesos.Config{})
	a, stopA := env.startNode("a")
	waitFor(t, "a to lead", 20*time.Second, a.IsLeader)
	b, _ := env.startNode("b")
	j := submit(t, []*node.Node{a}, mustSpec(t, `
name: uniq
tasks:
  - name: a
    command: "true"
    instances: 4
    resources: {cpus: 0.1, mem: 32}
    constraints: [[hostname, UNIQUE]]
    labels: {"localmesos.sim/duration": "5s"}
`))
	waitFor(t, "3 instances running", 20*time.Second, func() bool {
		_, as := status(t, a, j.ID)
		return len(runningHosts(as)) == 3
	})
	stopA()
	waitFor(t, "b to lead", 20*time.Second, b.IsLeader)
	st, as := waitJob(t, b, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %+v %+v", st, as)
	}
	overlap(t, as)
}

// --require-monitor: a host whose monitor is silent gets no work, and a
// host with a live monitor gets batch work only in the role's reservation
// (1 cpu of 4 here, so two 0.5-cpu instances at a time).
func TestPlacementRequireMonitorAndReservation(t *testing.T) {
	env := simEnv(t, 2, localmesos.Config{Resources: "cpus(batch):1;mem(batch):1024;cpus:3;mem:3072;disk:1024"})
	cli := env.client()
	if _, err := cli.Put(context.Background(), env.prefix+"monitors/local-agent-1", `{"hostname":"local-agent-1"}`); err != nil {
		t.Fatal(err)
	}
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.RequireMonitor = true })
	base := placementAPI(t, n)
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: mon
tasks:
  - name: a
    command: "true"
    instances: 3
    resources: {cpus: 0.5, mem: 32}
    labels: {"localmesos.sim/duration": "2s"}
`))
	var v api.JobView
	waitFor(t, "two running, one explained", 20*time.Second, func() bool {
		v = api.JobView{}
		call(t, "GET", base+"/v1/jobs/"+j.ID, "", "", &v)
		return len(v.Tasks) == 1 && v.Tasks[0].Counts.Running == 2 && v.Tasks[0].Why != nil
	})
	if w := v.Tasks[0].Why; w.Code != placement.UnschedulableNow || !hasReason(w.Reasons, "monitor silent") {
		t.Fatalf("why: %+v", w)
	}
	st, as := waitJob(t, n, j.ID, 30*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %+v", st)
	}
	for _, a := range as {
		if a.Hostname != "local-agent-1" {
			t.Fatalf("%s ran on %s, whose monitor is silent", a.TaskID(), a.Hostname)
		}
	}
	// Never more than the reservation: at each start, at most 2 running.
	for _, a := range as {
		n := 0
		for _, b := range as {
			if !b.Started.After(a.Started) && b.Ended.After(a.Started) {
				n++
			}
		}
		if n > 2 {
			t.Fatalf("%d instances ran at once (beyond the 1-cpu reservation): %+v", n, as)
		}
	}
	var list struct{ Agents []attrs.AgentView }
	call(t, "GET", base+"/v1/agents", "", "", &list)
	if agents := list.Agents; len(agents) != 2 || agents[0].MonitorSilent || !agents[1].MonitorSilent || agents[0].Resources.CPUs != 4 || agents[0].Reserved.CPUs != 1 {
		t.Fatalf("GET /v1/agents: %+v", agents)
	}
}

// A host so full it makes no offers is still known to a new leader (from
// the master's GET_AGENTS), so removing the attribute its instance needs
// moves the instance.
func TestPlacementMoveFromFullHostAfterFailover(t *testing.T) {
	env := simEnv(t, 2, localmesos.Config{Resources: "cpus:1;mem:256;disk:0"})
	opts := func(c *node.Config) { c.Framework.AgentsPoll = 200 * time.Millisecond }
	a, stopA := env.startNode("a", opts)
	waitFor(t, "a to lead", 20*time.Second, a.IsLeader)
	b, _ := env.startNode("b", opts)
	if _, err := a.Attrs().Put(context.Background(), "local-agent-1", map[string]string{"ssd": "yes"}, "test"); err != nil {
		t.Fatal(err)
	}
	j := submit(t, []*node.Node{a}, mustSpec(t, `
name: full
tasks:
  - name: a
    command: "true"
    retries: 0
    resources: {cpus: 1, mem: 256}
    constraints: [[ssd, EXISTS]]
    labels: {"localmesos.sim/duration": "60s"}
`))
	waitFor(t, "the instance running on local-agent-1", 20*time.Second, func() bool {
		_, as := status(t, a, j.ID)
		return runningHosts(as)["a/0"] == "local-agent-1"
	})
	stopA()
	waitFor(t, "b subscribed", 20*time.Second, b.Subscribed)
	waitFor(t, "b to know the full host", 20*time.Second, func() bool {
		for _, ag := range b.Agents() {
			if ag.Hostname == "local-agent-1" && ag.Resources.CPUs == 1 {
				return true
			}
		}
		return false
	})
	if _, err := b.Attrs().Put(context.Background(), "local-agent-2", map[string]string{"ssd": "yes"}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Attrs().Delete(context.Background(), "local-agent-1", "ssd", "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the instance moved to local-agent-2", 30*time.Second, func() bool {
		_, as := status(t, b, j.ID)
		return runningHosts(as)["a/0"] == "local-agent-2"
	})
	_, as := status(t, b, j.ID)
	if as[0].State != job.AttemptLost || as[0].Reason != framework.ReasonMoved {
		t.Fatalf("first attempt %+v", as[0])
	}
	if _, err := b.Kill(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
}
