package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/gleaner-project/gleaner/client"
)

func init() {
	register(&cli.Command{
		Name:  "job",
		Usage: "submit, list, inspect and kill jobs through the scheduler API",
		Subcommands: append([]*cli.Command{
			{Name: "submit", Usage: "submit a job spec (YAML or JSON), a docker-compose batch file, or a template (--template)", Flags: append(append(jobFlags(),
				&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "job spec or compose file (- for stdin)"},
				&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "follow per-task progress until the job ends; exit 0 only if it succeeded"},
				&cli.BoolFlag{Name: "dry-run", Usage: "validate the spec and check its placement against the live agents; submit nothing (as job validate)"},
				waitFlag(), templateVersionFlag(),
			), submitFlags()...), Action: jobSubmit},
			validateCommand(),
			listCommand(),
			getCommand(),
			inspectCommand(),
			{Name: "watch", Usage: "follow a job until it ends; exit 0 only if it succeeded", ArgsUsage: "JOB", Flags: append(jobFlags(), waitFlag()), Action: jobWatchCmd},
			{Name: "kill", Usage: "kill a job", ArgsUsage: "JOB", Flags: jobFlags(), Action: jobKill},
			resubmitCommand(),
			runNowCommand(),
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

func jobSubmit(c *cli.Context) error {
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	if useStoredTemplate(c) { // a template the scheduler stores (cmd/gleaner/template.go)
		return submitStoredTemplate(c, jc, c.String("template"))
	}
	data, err := readSpecDocument(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if c.Bool("dry-run") {
		return planSpec(ctx, c, jc, data)
	}
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

// readSpecDocument reads the spec named by -f (a file, or - for stdin;
// nothing with only --template) and turns it into the document to submit.
func readSpecDocument(c *cli.Context) ([]byte, error) {
	var data []byte
	var err error
	switch f := c.String("file"); {
	case f == "" && c.String("template") == "":
		return nil, cli.Exit("give -f FILE or --template NAME", 2)
	case f == "":
	case f == "-":
		data, err = io.ReadAll(os.Stdin)
	default:
		data, err = os.ReadFile(f)
	}
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return specDocument(c, data)
}
