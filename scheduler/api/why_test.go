package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
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

// Why-pending accounts for every known agent (issue 13: with a monitor on
// one of two agents only "monitor silent ×1" was shown): the agents the
// last offer cycle did not see are counted, and the counts add up.
func TestAccountAgentsAddsUpToTheKnownAgents(t *testing.T) {
	rc := func(reason string, n int) placement.ReasonCount {
		return placement.ReasonCount{Reason: reason, Count: n}
	}
	now := placement.UnschedulableNow
	tests := []struct {
		name  string
		in    []placement.ReasonCount
		known int
		want  []placement.ReasonCount
		agent int
	}{
		{"two agents, one monitor silent, the other busy", []placement.ReasonCount{rc("monitor silent", 1)}, 2,
			[]placement.ReasonCount{rc("monitor silent", 1), rc(ReasonNoOfferNow, 1)}, 2},
		{"every agent seen: unchanged", []placement.ReasonCount{rc("no cpu", 2), rc("monitor silent", 1)}, 3,
			[]placement.ReasonCount{rc("no cpu", 2), rc("monitor silent", 1)}, 3},
		{"no offers at all: every known agent busy", []placement.ReasonCount{rc("no offers", 1)}, 4,
			[]placement.ReasonCount{rc(ReasonNoOfferNow, 4)}, 4},
		{"unseen agents sort by count", []placement.ReasonCount{rc("no mem", 1)}, 5,
			[]placement.ReasonCount{rc(ReasonNoOfferNow, 4), rc("no mem", 1)}, 5},
		{"split offers count their agent", []placement.ReasonCount{rc("split across offers", 1)}, 2,
			[]placement.ReasonCount{rc(ReasonNoOfferNow, 1), rc("split across offers", 1)}, 2},
		{"agents table behind the offers: the reasons' count wins", []placement.ReasonCount{rc("no cpu", 3)}, 2,
			[]placement.ReasonCount{rc("no cpu", 3)}, 3},
		{"agents unknown: as the matcher said", []placement.ReasonCount{rc("no offers", 1)}, 0,
			[]placement.ReasonCount{rc("no offers", 1)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AccountAgents(matcher.Pending{Code: now, Reasons: tc.in}, tc.known)
			if got.Code != now || got.Agents != tc.agent || !reflect.DeepEqual(got.Reasons, tc.want) {
				t.Fatalf("got %+v, want agents %d reasons %+v", got, tc.agent, tc.want)
			}
			if tc.known > 0 {
				sum := 0
				for _, r := range got.Reasons {
					sum += r.Count
				}
				if sum != got.Agents {
					t.Fatalf("counts add up to %d, not to the %d agents", sum, got.Agents)
				}
			}
		})
	}
}

// GET /v1/jobs/{id} counts the agents the backend knows.
func TestGetAccountsEveryKnownAgent(t *testing.T) {
	b := &agentsBackend{explainingBackend: explainingBackend{fakeBackend: fakeBackend{st: store.NewMemory(), leader: true}},
		agents: []attrs.AgentInfo{{Hostname: "h1"}, {Hostname: "h2"}}}
	srv := httptest.NewServer(Handler(b, Config{Auth: auth.Guard{Insecure: true}}))
	defer srv.Close()
	sp, err := spec.Parse([]byte("name: w\ntasks: [{name: a, command: 'true'}]"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := b.Submit(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	b.why = map[string]matcher.Pending{j.ID + "/a": {Code: placement.UnschedulableNow, Reasons: []placement.ReasonCount{{Reason: "monitor silent", Count: 1}}}}
	resp, err := http.Get(srv.URL + "/v1/jobs/" + j.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v JobView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	w := v.Tasks[0].Why
	want := []placement.ReasonCount{{Reason: "monitor silent", Count: 1}, {Reason: ReasonNoOfferNow, Count: 1}}
	if w == nil || w.Agents != 2 || !reflect.DeepEqual(w.Reasons, want) {
		t.Fatalf("why = %+v, want 2 agents: %+v", w, want)
	}
}

type agentsBackend struct {
	explainingBackend
	agents []attrs.AgentInfo
}

func (a *agentsBackend) Agents() []attrs.AgentInfo { return a.agents }
