package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
)

// `gleaner job logs JOB TASK[/INDEX]`: an instance's stdout or stderr, read
// by the scheduler from the sandbox on the attempt's agent; TASK alone
// reads every instance of the task, one after the other (followed ones
// side by side), each line prefixed with TASK/INDEX.

// maxLogInstances bounds how many instances one command reads.
const maxLogInstances = 1000

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print an instance's stdout (or stderr) from its agent, or every instance's of a task; --follow streams while they run",
		ArgsUsage: "JOB TASK[/INDEX]",
		Flags: append(jobFlags(),
			&cli.BoolFlag{Name: "stderr", Usage: "stderr instead of stdout"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"F"}, Usage: "keep streaming until the attempt ends"},
			&cli.IntFlag{Name: "attempt", Value: -1, Usage: "attempt number (0 is the first; default the newest)"},
			&cli.IntFlag{Name: "tail", Value: -1, Usage: "only the last N lines of each instance's log (then follow, with --follow)"},
			&cli.BoolFlag{Name: "prefix", Usage: "start each line with TASK/INDEX (on by default when reading several instances)"},
			&cli.IntFlag{Name: "max-instances", Value: 100, Usage: "read at most this many instances of a task (up to 1000)"},
			&cli.BoolFlag{Name: "timestamps", Usage: "start each line with the time (RFC 3339, UTC) the executor received it"},
			&cli.StringFlag{Name: "since", Usage: "only lines received since `DURATION|TIME` (10m, 1h30m, or RFC 3339 like 2026-12-05T16:00:00Z)"},
		),
		Action: jobLogs,
	}
}

// logTarget is what `job logs` reads: one instance, or (Index -1) every
// instance of a task.
type logTarget struct {
	Task  string
	Index int
}

// parseLogTarget reads TASK or TASK/INDEX.
func parseLogTarget(arg string) (logTarget, error) {
	task, idx, ok := strings.Cut(arg, "/")
	t := logTarget{Task: task, Index: -1}
	if ok {
		n, err := strconv.Atoi(idx)
		if err != nil || n < 0 {
			return t, fmt.Errorf("instance %q: want TASK or TASK/INDEX", arg)
		}
		t.Index = n
	}
	if task == "" {
		return t, fmt.Errorf("instance %q: want TASK or TASK/INDEX", arg)
	}
	return t, nil
}

func jobLogs(c *cli.Context) error {
	if c.NArg() != 2 {
		return cli.Exit("usage: gleaner job logs JOB TASK[/INDEX] [--stderr] [--follow] [--tail N] [--prefix] [--attempt N] [--timestamps] [--since DURATION|TIME]", 2)
	}
	target, err := parseLogTarget(c.Args().Get(1))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if n := c.Int("max-instances"); n < 1 || n > maxLogInstances {
		return cli.Exit(fmt.Sprintf("--max-instances: want 1 to %d, got %d", maxLogInstances, n), 2)
	}
	var since time.Time
	if v := c.String("since"); v != "" {
		if since, err = parseSince(v, time.Now()); err != nil {
			return cli.Exit(err.Error(), 2)
		}
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	id := c.Args().Get(0)
	o := client.LogsOptions{Stderr: c.Bool("stderr"), Follow: c.Bool("follow")}
	if a := c.Int("attempt"); a >= 0 {
		o.Attempt = &a
	}
	indexes := []int{target.Index}
	if target.Index < 0 {
		v, err := jc.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("logs: %w", err)
		}
		n := -1
		for _, t := range v.Tasks {
			if t.Name == target.Task {
				n = t.Instances
			}
		}
		if n < 0 {
			return fmt.Errorf("logs: job %s has no task %q", id, target.Task)
		}
		if n > c.Int("max-instances") {
			fmt.Fprintf(c.App.ErrWriter, "logs: reading the first %d of %d instances (--max-instances)\n", c.Int("max-instances"), n)
			n = c.Int("max-instances")
		}
		indexes = indexes[:0]
		for i := range n {
			indexes = append(indexes, i)
		}
	}
	r := logReader{c: jc, job: id, task: target.Task, opt: o, tail: c.Int("tail"), out: &lockedWriter{w: c.App.Writer},
		prefix: c.Bool("prefix") || len(indexes) > 1, skipMissing: len(indexes) > 1, errw: c.App.ErrWriter,
		timestamps: c.Bool("timestamps"), since: since}
	if o.Follow && len(indexes) > 1 {
		err = r.readConcurrently(ctx, indexes)
	} else {
		for _, i := range indexes {
			if err = r.read(ctx, i); err != nil {
				break
			}
		}
	}
	if ctx.Err() != nil && c.Context.Err() == nil {
		return nil // interrupted while following
	}
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// logReader reads instances' logs of one task to out.
type logReader struct {
	c         *client.Client
	job, task string
	opt       client.LogsOptions
	// tail > 0 keeps each log's last tail lines (0: none, <0: all).
	tail        int
	prefix      bool
	skipMissing bool
	out         *lockedWriter
	errw        io.Writer
	// timestamps shows each line's time; since drops older lines.
	timestamps bool
	since      time.Time
}

// read copies one instance's log to out.
func (r *logReader) read(ctx context.Context, index int) error {
	var w io.Writer = r.out
	var pw *prefixWriter
	if r.prefix {
		pw = &prefixWriter{w: r.out, prefix: fmt.Sprintf("%s/%d| ", r.task, index)}
		w = pw
	}
	err := r.copyLog(ctx, index, w)
	if pw != nil {
		pw.Flush()
	}
	if errors.Is(err, errNoLineTimes) && r.skipMissing {
		fmt.Fprintf(r.errw, "%s/%d: %v\n", r.task, index, errNoLineTimes)
		return nil
	}
	if r.skipMissing && errors.Is(err, client.ErrNotFound) {
		fmt.Fprintf(r.errw, "%s/%d: %v\n", r.task, index, err)
		return nil
	}
	return err
}

func (r *logReader) copyLog(ctx context.Context, index int, w io.Writer) error {
	var sw *stampWriter
	if r.timestamps || !r.since.IsZero() {
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		sw = &stampWriter{w: w, times: openLineTimes(tctx, r.c, r.job, r.task, index, r.opt), show: r.timestamps, since: r.since,
			warn: func(msg string) { fmt.Fprintf(r.errw, "%s/%d: %s\n", r.task, index, msg) }}
		w = sw
	}
	err := r.copyLogTo(ctx, index, w, sw)
	if sw != nil {
		if ferr := sw.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// copyLogTo copies the log to w; sw, if set, is w, told of lines --tail
// leaves out.
func (r *logReader) copyLogTo(ctx context.Context, index int, w io.Writer, sw *stampWriter) error {
	if r.tail < 0 {
		return r.c.Logs(ctx, r.job, r.task, index, r.opt, w)
	}
	// The log so far, of which the last lines are kept; then, to follow,
	// the rest from where it ended.
	o := r.opt
	o.Follow = false
	t := &tailWriter{keep: r.tail}
	if err := r.c.Logs(ctx, r.job, r.task, index, o, t); err != nil {
		return err
	}
	if sw != nil {
		sw.skip(t.lines() - countLines(t.Bytes()))
	}
	if _, err := w.Write(t.Bytes()); err != nil {
		return err
	}
	if !r.opt.Follow {
		return nil
	}
	o.Follow, o.Offset = true, t.total
	return r.c.Logs(ctx, r.job, r.task, index, o, w)
}

// readConcurrently follows several instances at once.
func (r *logReader) readConcurrently(ctx context.Context, indexes []int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(indexes))
	for k, i := range indexes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = r.read(ctx, i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lockedWriter serializes writes of whole lines from several readers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter starts every line with prefix, writing whole lines only
// (Flush writes a last unterminated one).
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

// maxLineBuffer bounds a line held back while waiting for its end.
const maxLineBuffer = 64 << 10

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	var out bytes.Buffer
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			if len(p.buf) < maxLineBuffer {
				break
			}
			i = len(p.buf) - 1 // an overlong line is cut
		}
		out.WriteString(p.prefix)
		out.Write(p.buf[:i+1])
		if p.buf[i] != '\n' {
			out.WriteByte('\n')
		}
		p.buf = p.buf[i+1:]
	}
	if out.Len() > 0 {
		if _, err := p.w.Write(out.Bytes()); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// Flush writes a last line without its newline (adding one).
func (p *prefixWriter) Flush() {
	if len(p.buf) > 0 {
		p.w.Write([]byte(p.prefix + string(p.buf) + "\n"))
		p.buf = nil
	}
}

// tailWriter keeps the last keep lines written to it (a last line without
// a newline counts as one) and how many bytes it was given.
type tailWriter struct {
	keep     int
	total    int64
	buf      []byte
	newlines int64
	last     byte
}

// lines counts the lines given, a last one without its newline too.
func (t *tailWriter) lines() int64 {
	if t.total > 0 && t.last != '\n' {
		return t.newlines + 1
	}
	return t.newlines
}

func (t *tailWriter) Write(b []byte) (int, error) {
	if len(b) > 0 {
		t.newlines += int64(bytes.Count(b, []byte{'\n'}))
		t.last = b[len(b)-1]
	}
	t.total += int64(len(b))
	t.buf = append(t.buf, b...)
	// Drop whole lines from the front while more than keep remain;
	// compacting only now and then keeps this linear.
	if len(t.buf) > 1<<20 {
		t.buf = append([]byte(nil), t.Bytes()...)
	}
	return len(b), nil
}

// Bytes returns the kept lines.
func (t *tailWriter) Bytes() []byte {
	if t.keep <= 0 {
		return nil
	}
	end := len(t.buf)
	if end > 0 && t.buf[end-1] == '\n' {
		end-- // the last line's own newline
	}
	n := 0
	for i := end - 1; i >= 0; i-- {
		if t.buf[i] == '\n' {
			if n++; n == t.keep {
				return t.buf[i+1:]
			}
		}
	}
	return t.buf
}
