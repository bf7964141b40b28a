package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// printJobView prints the status table, then why each task's pending
// instances wait, e.g.
//
//	WHY PENDING
//	train  unschedulable-forever (no agent could ever take it): constraint gpu EXISTS ×3 (of 3 agents)
func printJobView(w io.Writer, v client.JobView) {
	st := v.Status
	st.Tasks = make([]job.TaskStatus, len(v.Tasks))
	for i := range v.Tasks {
		st.Tasks[i] = v.Tasks[i].TaskStatus
	}
	printStatusTable(w, st, v.Labels)
	header := false
	for _, t := range v.Tasks {
		if t.Why == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nWHY PENDING")
			header = true
		}
		var rs []string
		for _, r := range t.Why.Reasons {
			rs = append(rs, fmt.Sprintf("%s ×%d", r.Reason, r.Count))
		}
		code := t.Why.Code
		if t.Why.Code == client.UnschedulableForever {
			code += " (no agent could ever take it)"
		}
		of := ""
		if t.Why.Agents > 0 {
			of = fmt.Sprintf(" (of %d agents)", t.Why.Agents)
		}
		fmt.Fprintf(w, "%s  %s: %s%s\n", t.Name, code, strings.Join(rs, ", "), of)
	}
}
