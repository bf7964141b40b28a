package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestPrintJobViewWhyPending(t *testing.T) {
	v := client.JobView{Status: job.Status{ID: "w-1", Name: "w", State: job.Pending}, Tasks: []client.TaskView{
		{TaskStatus: job.TaskStatus{Name: "train", State: job.Pending, Instances: 3, Counts: job.Counts{Pending: 3}},
			Why: &client.Why{Code: client.UnschedulableForever, Reasons: []client.ReasonCount{{Reason: "constraint gpu EXISTS", Count: 2}, {Reason: "no mem", Count: 1}}, Agents: 3}},
		{TaskStatus: job.TaskStatus{Name: "prep", State: job.Succeeded, Instances: 1, Counts: job.Counts{Succeeded: 1}}},
	}}
	var b bytes.Buffer
	printJobView(&b, v)
	out := b.String()
	for _, want := range []string{"train", "prep", "WHY PENDING", "train  unschedulable-forever (no agent could ever take it): constraint gpu EXISTS ×2, no mem ×1 (of 3 agents)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if _, why, _ := strings.Cut(out, "WHY PENDING"); strings.Contains(why, "prep") {
		t.Fatalf("explained a finished task:\n%s", out)
	}
}
