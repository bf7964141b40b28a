package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// `gleaner job get JOB [TASK/INDEX]`, with --failed / --state for the
// job's instances and --spec for the spec it was submitted with; and
// `gleaner job inspect JOB`, the spec.

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "show a job (why its pending tasks wait, why its failed ones failed), its instances (--failed, --state), its tasks' outputs and artifacts (--outputs), its spec (--spec), or one instance's attempts and outputs",
		ArgsUsage: "JOB [TASK/INDEX]",
		Flags: append(jobFlags(),
			&cli.BoolFlag{Name: "failed", Usage: "list the job's failed instances: exit, reason, message"},
			&cli.StringSliceFlag{Name: "state", Usage: "list the job's instances in this state (failed, running, pending, succeeded, killed; repeatable)"},
			&cli.StringFlag{Name: "task", Usage: "with --failed or --state: only this task's instances"},
			&cli.IntFlag{Name: "limit", Value: 20, Usage: "with --failed, --state or --outputs (per task): at most this many instances (up to 1000)"},
			&cli.BoolFlag{Name: "spec", Usage: "print the spec the job was submitted with (YAML unless -o json)"},
			&cli.BoolFlag{Name: "outputs", Usage: "each task's output parameters and artifacts (name, size, digest, store URL), per succeeded instance (at most --limit per task)"},
		),
		Action: jobGet,
	}
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print the spec a job was submitted with, as stored (defaults applied); YAML unless -o json",
		ArgsUsage: "JOB",
		Flags:     jobFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: gleaner job inspect JOB", 2)
			}
			jc, err := newJobClient(c)
			if err != nil {
				return err
			}
			return printSpec(c, jc, c.Args().First())
		},
	}
}

// printSpec prints a job's stored spec: JSON with -o json, else YAML.
func printSpec(c *cli.Context, jc *client.Client, id string) error {
	sp, err := jc.Spec(c.Context, id)
	if err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	if c.String("output") == "json" {
		return printOut(c, sp, nil)
	}
	b, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(b)
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(y)
	return err
}

func jobGet(c *cli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return errors.New("usage: gleaner job get JOB [TASK/INDEX]")
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	id := c.Args().Get(0)
	if c.Bool("spec") {
		return printSpec(c, jc, id)
	}
	if c.NArg() == 2 {
		task, idx, ok := strings.Cut(c.Args().Get(1), "/")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 {
			return fmt.Errorf("instance %q: want TASK/INDEX", c.Args().Get(1))
		}
		inst, err := jc.Instance(c.Context, id, task, n)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		return printOut(c, inst, func(w io.Writer) { printInstance(w, inst, painter{on: colorsFor(w)}) })
	}
	if c.Bool("failed") || len(c.StringSlice("state")) > 0 {
		return getInstances(c, jc, id)
	}
	v, err := jc.Get(c.Context, id)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if c.Bool("outputs") {
		return jobGetOutputs(c, jc, v) // job_get_outputs.go
	}
	if c.String("output") == "table" {
		fillFailureReasons(c.Context, jc, &v)
	}
	return printOut(c, v, func(w io.Writer) { printJobView(w, v) })
}

// getInstances lists the job's instances in the states asked for.
func getInstances(c *cli.Context, jc *client.Client, id string) error {
	o := client.InstancesOptions{Task: c.String("task"), Limit: c.Int("limit")}
	if o.Limit < 1 || o.Limit > 1000 {
		return cli.Exit(fmt.Sprintf("--limit: want 1 to 1000, got %d", o.Limit), 2)
	}
	if c.Bool("failed") {
		o.States = append(o.States, job.Failed)
	}
	for _, s := range c.StringSlice("state") {
		for _, one := range strings.Split(s, ",") {
			if one = strings.TrimSpace(one); one != "" {
				o.States = append(o.States, job.State(one))
			}
		}
	}
	page, err := jc.Instances(c.Context, id, o)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	return printOut(c, page, func(w io.Writer) {
		printInstancePage(w, id, page, painter{on: colorsFor(w)})
	})
}

// printInstancePage is one line per instance with its last attempt's
// exit, reason and message, and how many matched in all.
func printInstancePage(w io.Writer, id string, page client.InstancePage, p painter) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\t"+p.plain("STATE")+"\tATTEMPTS\tHOST\tEXIT\tREASON\tMESSAGE")
	for _, in := range page.Instances {
		host, exit, reason, msg := "-", "-", "-", "-"
		if n := len(in.Attempts); n > 0 {
			a := in.Attempts[n-1]
			host, exit, reason, msg = dash(a.Hostname), exitText(a), dash(a.Reason), dash(a.Message)
		}
		fmt.Fprintf(tw, "%s/%d\t%s\t%d\t%s\t%s\t%s\t%s\n", in.Task, in.Index, p.state(in.State), len(in.Attempts), host, exit, reason, msg)
	}
	tw.Flush()
	if len(page.Instances) < page.Total {
		fmt.Fprintf(w, "(%d of %d; --limit for more)\n", len(page.Instances), page.Total)
	}
	if len(page.Instances) == 0 {
		fmt.Fprintf(w, "no instance of %s matches\n", id)
	}
}

func exitText(a client.Attempt) string {
	switch {
	case a.Signal > 0:
		return "signal " + strconv.Itoa(a.Signal)
	case a.ExitCode != nil:
		return strconv.Itoa(*a.ExitCode)
	}
	return "-"
}

func printInstance(w io.Writer, inst client.Instance, p painter) {
	fmt.Fprintf(w, "%s %s/%d: %s\n", inst.Job, inst.Task, inst.Index, p.state(inst.State))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTEMPT\tTASK ID\tSTATE\tHOST\tEXIT\tSTARTED\tENDED\tVERDICT\tREASON\tMESSAGE")
	for _, a := range inst.Attempts {
		started, ended := "-", "-"
		if a.Started != nil {
			started = a.Started.Format(time.RFC3339)
		}
		if a.Ended != nil {
			ended = a.Ended.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Attempt, a.TaskID, a.State, a.Hostname, exitText(a), started, ended, dash(a.Verdict), a.Reason, a.Message)
	}
	tw.Flush()
	printOutputs(w, inst.Attempts)
}

// maxOutputShown bounds how much of an output value the table shows
// (-o json has it whole).
const maxOutputShown = 200

// printOutputs lists the output parameters and artifacts of the last
// attempt that left some, one per line, long values cut.
func printOutputs(w io.Writer, as []client.Attempt) {
	if a, ok := lastWithOutputs(as); ok {
		fmt.Fprintf(w, "outputs (attempt %d):\n", a.Attempt)
		printOutputValues(w, "  ", a.Outputs)
		printArtifacts(w, "  ", a.Artifacts)
	}
}

// maxReasonLookups bounds the requests fillFailureReasons makes.
const maxReasonLookups = 20

// fillFailureReasons gives each task with failed instances and no reason
// of its own the first failed instance's: "index 5: exit 4: exited with
// status 4". An API without the instance listing leaves them empty.
func fillFailureReasons(ctx context.Context, jc *client.Client, v *client.JobView) {
	lookups := 0
	for i := range v.Tasks {
		t := &v.Tasks[i]
		if t.Counts.Failed == 0 || t.Reason != "" || lookups >= maxReasonLookups {
			continue
		}
		lookups++
		page, err := jc.Instances(ctx, v.ID, client.InstancesOptions{Task: t.Name, States: []job.State{job.Failed}, Limit: 1})
		if err != nil || len(page.Instances) == 0 {
			continue
		}
		t.Reason = failureText(page.Instances[0])
	}
}

// failureText says how an instance failed, from its last attempt.
func failureText(in client.Instance) string {
	parts := []string{fmt.Sprintf("index %d", in.Index)}
	if n := len(in.Attempts); n > 0 {
		a := in.Attempts[n-1]
		if e := exitText(a); e != "-" {
			parts = append(parts, "exit "+e)
		}
		if a.Reason != "" {
			parts = append(parts, a.Reason)
		}
		if a.Message != "" {
			parts = append(parts, a.Message)
		}
	}
	return strings.Join(parts, ": ")
}

func printStatusTable(w io.Writer, st job.Status, labels map[string]string) {
	p := painter{on: colorsFor(w)}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "JOB\t%s\nNAME\t%s\nSTATE\t%s\nSUBMITTED\t%s\n", st.ID, st.Name, p.state(st.State), st.Submitted)
	if len(labels) > 0 {
		fmt.Fprintf(tw, "LABELS\t%s\n", kvString(labels))
	}
	if st.Reason != "" {
		fmt.Fprintf(tw, "REASON\t%s\n", st.Reason)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TASK\t"+p.plain("STATE")+"\tINSTANCES\tPENDING\tRUNNING\tSUCCEEDED\tFAILED\tKILLED\tRETRYING\tSKIPPED\tDEPENDS\tREASON")
	for _, t := range st.Tasks {
		c := t.Counts
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", t.Name, p.state(t.State), t.Instances, c.Pending, c.Running, c.Succeeded, c.Failed, c.Killed, c.Retrying, c.Skipped, dash(t.Depends), t.Reason)
	}
	tw.Flush()
}
