package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
)

// `gleaner job validate -f FILE` (and `job submit --dry-run`): the API
// checks the spec and each task's placement against the live agents, as
// `nomad job plan` does; nothing is submitted. Exit 0 when every task
// could be placed, 1 when one never could.

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "check a spec (schema, fields) and whether the live agents could ever place each task; submits nothing",
		Flags: append(append(jobFlags(),
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "job spec or compose file (- for stdin)"},
		), submitFlags()...),
		Action: func(c *cli.Context) error {
			jc, err := newJobClient(c)
			if err != nil {
				return err
			}
			data, err := readSpecDocument(c)
			if err != nil {
				return err
			}
			return planSpec(c.Context, c, jc, data)
		},
	}
}

// planSpec asks the API for a dry run of data and prints it.
func planSpec(ctx context.Context, c *cli.Context, jc *client.Client, data []byte) error {
	p, err := jc.Plan(ctx, data)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if err := printOut(c, p, func(w io.Writer) { printPlan(w, p) }); err != nil {
		return err
	}
	for _, t := range p.Tasks {
		if !t.Feasible {
			return cli.Exit(fmt.Sprintf("job %s: task %s could never be placed on the %d known agents", p.Name, t.Name, p.Agents), 1)
		}
	}
	return nil
}

func printPlan(w io.Writer, p client.Plan) {
	fmt.Fprintf(w, "job %s: spec valid; placement checked against %d agents\n", p.Name, p.Agents)
	if p.Warning != "" {
		fmt.Fprintln(w, "warning:", p.Warning)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tINSTANCES\tPLACEABLE\tAGENTS\tWHY NOT")
	for _, t := range p.Tasks {
		ok := "yes"
		if !t.Feasible {
			ok = "NEVER"
		}
		var rs []string
		for _, r := range t.Reasons {
			rs = append(rs, fmt.Sprintf("%s ×%d", r.Reason, r.Count))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", t.Name, t.Instances, ok, t.Agents, dash(strings.Join(rs, ", ")))
	}
	tw.Flush()
}
