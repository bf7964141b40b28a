package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/isolation"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// isolatingBackend refuses at submit what a command-executor scheduler
// cannot isolate, as node.Node does.
type isolatingBackend struct {
	fakeBackend
	policy isolation.Policy
}

func (b *isolatingBackend) CheckSubmit(sp *job.Spec) error { return b.policy.Check(sp) }

func (b *isolatingBackend) Submit(ctx context.Context, sp *job.Spec) (*job.Job, error) {
	if err := b.CheckSubmit(sp); err != nil {
		return nil, err
	}
	return b.fakeBackend.Submit(ctx, sp)
}

// A dry run refuses what a submit would refuse for isolation reasons, with
// the same 400 and field (issue 13: dry-run skipped the isolation check).
func TestDryRunRefusesWhatSubmitWouldForIsolation(t *testing.T) {
	b := &isolatingBackend{fakeBackend: fakeBackend{st: store.NewMemory(), leader: true}, policy: isolation.Policy{CommandExecutor: true}}
	srv := httptest.NewServer(Handler(b, Config{Auth: testGuard()}))
	t.Cleanup(srv.Close)
	const bundled = "name: p\nuser: root\ntasks: [{name: a, command: x}]"
	dryResp, dry := do(t, "POST", srv.URL+"/v1/jobs?dryRun=true", bundled, adminToken)
	subResp, sub := do(t, "POST", srv.URL+"/v1/jobs", bundled, adminToken)
	if subResp.StatusCode != http.StatusBadRequest || sub["field"] != "user" {
		t.Fatalf("submit: %d %v, want the isolation refusal", subResp.StatusCode, sub)
	}
	if dryResp.StatusCode != subResp.StatusCode || dry["field"] != sub["field"] || dry["error"] != sub["error"] {
		t.Fatalf("dry run %d %v, submit %d %v: want the same refusal", dryResp.StatusCode, dry, subResp.StatusCode, sub)
	}
	if resp, m := do(t, "POST", srv.URL+"/v1/jobs?dryRun=true", "name: p\ntasks: [{name: a, command: x}]", adminToken); resp.StatusCode != 200 {
		t.Fatalf("a spec the policy allows: %d %v", resp.StatusCode, m)
	}
}
