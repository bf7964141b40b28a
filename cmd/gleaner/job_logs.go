package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/api"
)

// `gleaner job logs JOB TASK[/INDEX]`: an instance's stdout or stderr, read
// by the scheduler from the sandbox on the attempt's agent.

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print an instance's stdout (or stderr) from its agent; --follow streams it while it runs",
		ArgsUsage: "JOB TASK[/INDEX]",
		Flags: append(jobFlags(),
			&cli.BoolFlag{Name: "stderr", Usage: "stderr instead of stdout"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"F"}, Usage: "keep streaming until the attempt ends"},
			&cli.IntFlag{Name: "attempt", Value: -1, Usage: "attempt number (0 is the first; default the newest)"},
		),
		Action: jobLogs,
	}
}

// logsPath builds the API path for JOB TASK[/INDEX] and the flags.
func logsPath(jobID, inst string, stderr, follow bool, attempt int) (string, error) {
	task, idx, ok := strings.Cut(inst, "/")
	if !ok {
		idx = "0"
	}
	if n, err := strconv.Atoi(idx); err != nil || n < 0 || task == "" {
		return "", fmt.Errorf("instance %q: want TASK or TASK/INDEX", inst)
	}
	q := url.Values{"stream": {"stdout"}}
	if stderr {
		q.Set("stream", "stderr")
	}
	if follow {
		q.Set("follow", "1")
	}
	if attempt >= 0 {
		q.Set("attempt", strconv.Itoa(attempt))
	}
	return "/v1/jobs/" + url.PathEscape(jobID) + "/tasks/" + url.PathEscape(task) + "/instances/" + idx + "/logs?" + q.Encode(), nil
}

func jobLogs(c *cli.Context) error {
	if c.NArg() != 2 {
		return cli.Exit("usage: gleaner job logs JOB TASK[/INDEX] [--stderr] [--follow] [--attempt N]", 2)
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	path, err := logsPath(c.Args().Get(0), c.Args().Get(1), c.Bool("stderr"), c.Bool("follow"), c.Int("attempt"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = jc.stream(ctx, path, c.App.Writer)
	if ctx.Err() != nil && c.Context.Err() == nil {
		return nil // interrupted while following
	}
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// stream copies a GET's body to w as it arrives.
func (jc *jobClient) stream(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jc.base+path, nil)
	if err != nil {
		return err
	}
	if jc.token != "" {
		req.Header.Set("Authorization", "Bearer "+jc.token)
	}
	resp, err := jc.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e api.Error
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			if e.Field != "" {
				return fmt.Errorf("%s (field %s)", e.Error, e.Field)
			}
			return errors.New(e.Error)
		}
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	fl, _ := w.(interface{ Flush() error })
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			if fl != nil {
				_ = fl.Flush()
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read log stream: %w", rerr)
		}
	}
}
