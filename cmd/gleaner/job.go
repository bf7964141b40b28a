package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

func init() {
	register(&cli.Command{
		Name:  "job",
		Usage: "submit, list, inspect and kill jobs through the scheduler API",
		Subcommands: append([]*cli.Command{
			{Name: "submit", Usage: "submit a job spec (YAML or JSON), a docker-compose batch file, or a template (--template)", Flags: append(append(jobFlags(),
				&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "job spec or compose file (- for stdin)"},
				&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "follow per-task progress until the job ends; exit 0 only if it succeeded"},
			), submitFlags()...), Action: jobSubmit},
			{Name: "list", Usage: "list jobs", Flags: jobFlags(), Action: jobList},
			{Name: "get", Usage: "show a job, or one instance's attempts", ArgsUsage: "JOB [TASK/INDEX]", Flags: jobFlags(), Action: jobGet},
			{Name: "watch", Usage: "follow a job until it ends; exit 0 only if it succeeded", ArgsUsage: "JOB", Flags: jobFlags(), Action: jobWatchCmd},
			{Name: "kill", Usage: "kill a job", ArgsUsage: "JOB", Flags: jobFlags(), Action: jobKill},
		}, append(batchCommands(), logsCommand(), deleteCommand())...),
	})
}

func jobFlags() []cli.Flag {
	return append(apiClientFlags(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table, json or yaml"},
		&cli.DurationFlag{Name: "watch-timeout", Usage: "give up following a job after this long (0: until it ends)"},
	)
}

// newJobClient checks the output flag and makes the SDK client of c's
// API flags.
func newJobClient(c *cli.Context) (*client.Client, error) {
	switch c.String("output") {
	case "table", "json", "yaml":
	default:
		return nil, fmt.Errorf("--output: want table, json or yaml, got %q", c.String("output"))
	}
	return newAPIClient(c.String("api"), c.String("token"), c.String("token-file"), c.Duration("timeout"))
}

func printOut(c *cli.Context, v any, table func(w io.Writer)) error {
	w := c.App.Writer
	switch c.String("output") {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	table(w)
	return nil
}

func printStatusTable(w io.Writer, st job.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "JOB\t%s\nNAME\t%s\nSTATE\t%s\nSUBMITTED\t%s\n", st.ID, st.Name, st.State, st.Submitted)
	if st.Reason != "" {
		fmt.Fprintf(tw, "REASON\t%s\n", st.Reason)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TASK\tSTATE\tINSTANCES\tPENDING\tRUNNING\tSUCCEEDED\tFAILED\tKILLED\tDEPENDS\tREASON")
	for _, t := range st.Tasks {
		c := t.Counts
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", t.Name, t.State, t.Instances, c.Pending, c.Running, c.Succeeded, c.Failed, c.Killed, dash(t.Depends), t.Reason)
	}
	tw.Flush()
}

func jobSubmit(c *cli.Context) error {
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	var data []byte
	switch f := c.String("file"); {
	case f == "" && c.String("template") == "":
		return cli.Exit("give -f FILE or --template NAME", 2)
	case f == "":
	case f == "-":
		data, err = io.ReadAll(os.Stdin)
	default:
		data, err = os.ReadFile(f)
	}
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if data, err = specDocument(c, data); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	out, err := jc.Submit(ctx, data)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if !c.Bool("watch") {
		return printOut(c, out, func(w io.Writer) { fmt.Fprintln(w, out.ID) })
	}
	fmt.Fprintf(c.App.ErrWriter, "submitted %s\n", out.ID)
	ctx, cancel := watchContext(ctx, c)
	defer cancel()
	return jobWatch(ctx, c, jc, out.ID)
}

// jobWatch follows the job until it ends, printing each change (the SDK
// reconnects if the stream breaks, e.g. on a leader change), and fails
// unless the job succeeded.
func jobWatch(ctx context.Context, c *cli.Context, jc *client.Client, id string) error {
	last, err := jc.Watch(ctx, id, watchPrinter(c))
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	if c.String("output") != "table" {
		if err := printOut(c, last, nil); err != nil {
			return err
		}
	}
	if last.State != job.Succeeded {
		return cli.Exit(fmt.Sprintf("job %s %s", id, last.State), 1)
	}
	return nil
}

func jobWatchCmd(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("usage: gleaner job watch JOB")
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := watchContext(ctx, c)
	defer cancel()
	return jobWatch(ctx, c, jc, c.Args().First())
}

// watchContext bounds a watch by --watch-timeout (none when 0).
func watchContext(ctx context.Context, c *cli.Context) (context.Context, context.CancelFunc) {
	if d := c.Duration("watch-timeout"); d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

func jobList(c *cli.Context) error {
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	out, err := jc.List(c.Context, client.ListOptions{})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Submitted < out[j].Submitted })
	return printOut(c, out, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tSUBMITTED\tTASKS")
		for _, st := range out {
			var parts []string
			for _, t := range st.Tasks {
				parts = append(parts, fmt.Sprintf("%s:%s(%d/%d)", t.Name, t.State, t.Counts.Succeeded, t.Instances))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.ID, st.State, st.Submitted, strings.Join(parts, " "))
		}
		tw.Flush()
	})
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
	if c.NArg() == 2 {
		task, idx, ok := strings.Cut(c.Args().Get(1), "/")
		if _, err := strconv.Atoi(idx); !ok || err != nil {
			return fmt.Errorf("instance %q: want TASK/INDEX", c.Args().Get(1))
		}
		n, _ := strconv.Atoi(idx)
		inst, err := jc.Instance(c.Context, id, task, n)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		return printOut(c, inst, func(w io.Writer) {
			fmt.Fprintf(w, "%s %s/%d: %s\n", inst.Job, inst.Task, inst.Index, inst.State)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ATTEMPT\tTASK ID\tSTATE\tHOST\tEXIT\tSTARTED\tENDED\tVERDICT\tREASON\tMESSAGE")
			for _, a := range inst.Attempts {
				exit, started, ended := "-", "-", "-"
				if a.ExitCode != nil {
					exit = strconv.Itoa(*a.ExitCode)
				}
				if a.Signal > 0 {
					exit = "signal " + strconv.Itoa(a.Signal)
				}
				if a.Started != nil {
					started = a.Started.Format(time.RFC3339)
				}
				if a.Ended != nil {
					ended = a.Ended.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Attempt, a.TaskID, a.State, a.Hostname, exit, started, ended, dash(a.Verdict), a.Reason, a.Message)
			}
			tw.Flush()
		})
	}
	st, err := jc.Get(c.Context, id)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	return printOut(c, st, func(w io.Writer) { printJobView(w, st) })
}

func jobKill(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("usage: gleaner job kill JOB")
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	out, err := jc.Kill(c.Context, c.Args().First())
	if err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	return printOut(c, out, func(w io.Writer) { fmt.Fprintf(w, "%s killing\n", out.ID) })
}
