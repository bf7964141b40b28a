package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// `gleaner job resubmit JOB` submits a job's stored spec again as a new
// job; `gleaner job run-now CRONJOB` starts a run of a scheduled job now.

func resubmitCommand() *cli.Command {
	return &cli.Command{
		Name:      "resubmit",
		Usage:     "submit the spec a job was submitted with again, as a new job",
		ArgsUsage: "JOB",
		Flags: append(jobFlags(),
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "follow the new job until it ends; exit 0 only if it succeeded"},
			waitFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: gleaner job resubmit JOB [--watch]", 2)
			}
			jc, err := newJobClient(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			sp, err := jc.Spec(ctx, c.Args().First())
			if err != nil {
				return fmt.Errorf("resubmit: %w", err)
			}
			doc, err := json.Marshal(sp)
			if err != nil {
				return err
			}
			out, err := jc.Submit(ctx, doc)
			if err != nil {
				return fmt.Errorf("resubmit: %w", err)
			}
			if !c.Bool("watch") {
				return printOut(c, out, func(w io.Writer) { fmt.Fprintln(w, out.ID) })
			}
			fmt.Fprintf(c.App.ErrWriter, "submitted %s\n", out.ID)
			ctx, cancel := watchContext(ctx, c)
			defer cancel()
			return jobWatch(ctx, c, jc, out.ID)
		},
	}
}

func runNowCommand() *cli.Command {
	return &cli.Command{
		Name:      "run-now",
		Usage:     "start a run of a scheduled (cron) job now, outside its schedule",
		ArgsUsage: "CRONJOB",
		Flags: append(jobFlags(),
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "follow the run until it ends; exit 0 only if it succeeded"},
			waitFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: gleaner job run-now CRONJOB [--watch]", 2)
			}
			jc, err := newJobClient(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			out, err := jc.RunNow(ctx, c.Args().First())
			if err != nil {
				return fmt.Errorf("run-now: %w", err)
			}
			if !c.Bool("watch") {
				return printOut(c, out, func(w io.Writer) { fmt.Fprintln(w, out.Run) })
			}
			fmt.Fprintf(c.App.ErrWriter, "started %s\n", out.Run)
			ctx, cancel := watchContext(ctx, c)
			defer cancel()
			return jobWatch(ctx, c, jc, out.Run)
		},
	}
}
