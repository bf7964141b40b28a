package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// deleteCommand is `gleaner job delete JOB [--kill]`: the finished job's
// records go (a scheduled job with its finished runs).
func deleteCommand() *cli.Command {
	return &cli.Command{Name: "delete", Aliases: []string{"purge"}, ArgsUsage: "JOB",
		Usage:  "delete a finished job's records (job, attempts, work queue); --kill kills it first and waits for it to end",
		Flags:  append(jobFlags(), &cli.BoolFlag{Name: "kill", Usage: "kill the job first if it has not finished, and wait for it to end"}),
		Action: jobDelete}
}

func jobDelete(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("usage: gleaner job delete JOB [--kill]")
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	id := c.Args().First()
	out, err := jc.Purge(c.Context, id)
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict && c.Bool("kill") {
		if _, err := jc.Kill(c.Context, id); err != nil {
			return fmt.Errorf("delete: kill: %w", err)
		}
		if _, err := jc.Watch(c.Context, id, func(job.Status) {}); err != nil {
			return fmt.Errorf("delete: wait for the killed job to end: %w", err)
		}
		out, err = jc.Purge(c.Context, id)
	}
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return fmt.Errorf("delete: %w (kill it first, or give --kill)", err)
	}
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return printOut(c, out, func(w io.Writer) { fmt.Fprintf(w, "%s deleted\n", out.ID) })
}
