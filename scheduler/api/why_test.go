package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

type explainingBackend struct {
	fakeBackend
	why map[string]matcher.Pending
}

func (e *explainingBackend) Why(jobID, task string) (matcher.Pending, bool) {
	p, ok := e.why[jobID+"/"+task]
	return p, ok
}

// GET /v1/jobs/{id} explains tasks with pending instances only.
func TestGetExplainsPending(t *testing.T) {
	b := &explainingBackend{fakeBackend: fakeBackend{st: store.NewMemory(), leader: true}}
	srv := httptest.NewServer(Handler(b, Config{Auth: auth.Guard{Insecure: true}}))
	defer srv.Close()
	sp, err := spec.Parse([]byte("name: w\ntasks: [{name: gpu, command: 'true', constraints: [[gpu, EXISTS]]}, {name: other, command: 'true'}]"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := b.Submit(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	forever := matcher.Pending{Code: placement.UnschedulableForever, Reasons: []placement.ReasonCount{{Reason: "constraint gpu EXISTS", Count: 3}}}
	b.why = map[string]matcher.Pending{j.ID + "/gpu": forever}
	resp, err := http.Get(srv.URL + "/v1/jobs/" + j.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v JobView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.ID != j.ID || len(v.Tasks) != 2 || v.Tasks[0].Counts.Pending != 1 {
		t.Fatalf("view = %+v", v)
	}
	if w := v.Tasks[0].Why; w == nil || w.Code != placement.UnschedulableForever || w.Reasons[0] != forever.Reasons[0] {
		t.Fatalf("why = %+v", v.Tasks[0].Why)
	}
	if v.Tasks[1].Why != nil {
		t.Fatalf("unexplained task has why %+v", v.Tasks[1].Why)
	}
}
