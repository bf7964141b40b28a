package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// `gleaner job get JOB --outputs`: each task's output parameters and
// artifacts, per succeeded instance (its last attempt that left some).

// maxOutputTasks bounds the tasks --outputs asks about (one request each).
const maxOutputTasks = 100

// JobOutputs is what --outputs prints (-o json/yaml as it stands).
type JobOutputs struct {
	Job   string        `json:"job"`
	Tasks []TaskOutputs `json:"tasks"`
}

// TaskOutputs are one task's succeeded instances' outputs; Total is how
// many instances succeeded, of which Instances holds at most --limit.
type TaskOutputs struct {
	Task      string            `json:"task"`
	Total     int               `json:"succeeded"`
	Instances []InstanceOutputs `json:"instances"`
}

// InstanceOutputs are the outputs of one instance's last attempt that
// left some.
type InstanceOutputs struct {
	Index     int               `json:"index"`
	Attempt   int               `json:"attempt"`
	Outputs   map[string]string `json:"outputs,omitempty"`
	Artifacts []client.Artifact `json:"artifacts,omitempty"`
}

// getOutputs gathers, for each task of the job with succeeded instances,
// up to limit of them with their outputs.
func getOutputs(ctx context.Context, jc *client.Client, v client.JobView, limit int) (JobOutputs, error) {
	out := JobOutputs{Job: v.ID, Tasks: []TaskOutputs{}}
	for i, t := range v.Tasks {
		if i >= maxOutputTasks {
			break
		}
		if t.Counts.Succeeded == 0 {
			continue
		}
		page, err := jc.Instances(ctx, v.ID, client.InstancesOptions{Task: t.Name, States: []job.State{job.Succeeded}, Limit: limit})
		if err != nil {
			return out, fmt.Errorf("outputs of %s: %w", t.Name, err)
		}
		to := TaskOutputs{Task: t.Name, Total: page.Total, Instances: []InstanceOutputs{}}
		for _, in := range page.Instances {
			row := InstanceOutputs{Index: in.Index}
			if a, ok := lastWithOutputs(in.Attempts); ok {
				row.Attempt, row.Outputs, row.Artifacts = a.Attempt, a.Outputs, a.Artifacts
			}
			to.Instances = append(to.Instances, row)
		}
		out.Tasks = append(out.Tasks, to)
	}
	return out, nil
}

// lastWithOutputs is the last attempt that left outputs or artifacts.
func lastWithOutputs(as []client.Attempt) (client.Attempt, bool) {
	for i := len(as) - 1; i >= 0; i-- {
		if len(as[i].Outputs) > 0 || len(as[i].Artifacts) > 0 {
			return as[i], true
		}
	}
	return client.Attempt{}, false
}

func jobGetOutputs(c *cli.Context, jc *client.Client, v client.JobView) error {
	limit := c.Int("limit")
	if limit < 1 || limit > 1000 {
		return cli.Exit(fmt.Sprintf("--limit: want 1 to 1000, got %d", limit), 2)
	}
	o, err := getOutputs(c.Context, jc, v, limit)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	return printOut(c, o, func(w io.Writer) { printJobOutputs(w, o) })
}

// printJobOutputs is one block per task: each instance's outputs, one per
// line (long values cut), then its artifacts.
func printJobOutputs(w io.Writer, o JobOutputs) {
	if len(o.Tasks) == 0 {
		fmt.Fprintf(w, "no task of %s has succeeded instances yet\n", o.Job)
		return
	}
	for _, t := range o.Tasks {
		fmt.Fprintf(w, "%s:", t.Task)
		if len(t.Instances) < t.Total {
			fmt.Fprintf(w, " (%d of %d succeeded instances; --limit for more)", len(t.Instances), t.Total)
		}
		fmt.Fprintln(w)
		for _, in := range t.Instances {
			if len(in.Outputs) == 0 && len(in.Artifacts) == 0 {
				fmt.Fprintf(w, "  %s/%d: no outputs\n", t.Task, in.Index)
				continue
			}
			fmt.Fprintf(w, "  %s/%d (attempt %d):\n", t.Task, in.Index, in.Attempt)
			printOutputValues(w, "    ", in.Outputs)
			printArtifacts(w, "    ", in.Artifacts)
		}
	}
}

// printOutputValues lists output parameters sorted by name, long values
// cut (-o json has them whole).
func printOutputValues(w io.Writer, indent string, outs map[string]string) {
	names := make([]string, 0, len(outs))
	for k := range outs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := outs[k]
		if len(v) > maxOutputShown {
			v = v[:maxOutputShown] + fmt.Sprintf("… (%d bytes)", len(outs[k]))
		}
		fmt.Fprintf(w, "%s%s = %s\n", indent, k, strings.ReplaceAll(v, "\n", "\\n"))
	}
}

// printArtifacts lists artifacts: name, size, digest and where (the URL,
// else the key in the store).
func printArtifacts(w io.Writer, indent string, as []client.Artifact) {
	for _, a := range as {
		where := a.URL
		if where == "" {
			where = a.Key
		}
		fmt.Fprintf(w, "%sartifact %s: %d bytes %s %s\n", indent, a.Name, a.Size, a.Digest, where)
	}
}
