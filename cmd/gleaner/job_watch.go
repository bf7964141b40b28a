package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Watching a job: live progress (job_progress.go), why pending tasks wait
// (asked of GET /v1/jobs/{id} while some are pending), an end as soon as
// a task can never be placed (unless --wait), and on failure the first
// failing instances with the command that shows their stderr.

// Exit codes of a watch: 0 the job succeeded, 1 it ended otherwise, 3 it
// can never be placed (unschedulable-forever; the job keeps waiting).
const exitUnschedulable = 3

func waitFlag() cli.Flag {
	return &cli.BoolFlag{Name: "wait", Usage: "with a watch: keep waiting when a task can never be placed on the known agents (default: stop with exit 3)"}
}

var (
	// whyPoll is how often a watch asks why pending tasks wait.
	whyPoll = 2 * time.Second
	// foreverGrace is how long a task must stay unschedulable-forever
	// before the watch gives up on it (agents may still be registering).
	foreverGrace = 10 * time.Second
)

// maxFailuresShown is how many failing instances a failed watch prints.
const maxFailuresShown = 3

// jobWatch follows the job until it ends, printing each change (the SDK
// reconnects if the stream breaks, e.g. on a leader change), and fails
// unless the job succeeded.
func jobWatch(ctx context.Context, c *cli.Context, jc *client.Client, id string) error {
	table := c.String("output") == "table"
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &whyWatcher{jc: jc, id: id, errw: c.App.ErrWriter, print: table, wait: c.Bool("wait"), cancel: cancel}
	show := watchPrinter(c)
	last, err := jc.Watch(wctx, id, func(st job.Status) {
		show(st)
		w.update(st)
	})
	w.stop()
	if stuck := w.stuck(); stuck != "" && ctx.Err() == nil {
		return cli.Exit(fmt.Sprintf("job %s cannot run: %s\n(the job still waits: gleaner job kill %s, add agents or attributes, or watch with --wait)", id, stuck, id), exitUnschedulable)
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	if !table {
		if err := printOut(c, last, nil); err != nil {
			return err
		}
	}
	if last.State != job.Succeeded {
		if table {
			explainFailure(ctx, c.App.Writer, jc, id)
		}
		return cli.Exit(fmt.Sprintf("job %s %s", id, last.State), 1)
	}
	return nil
}

// whyWatcher asks why pending tasks wait while the watch shows some, prints
// each new explanation, and cancels the watch once a task has stayed
// unschedulable-forever for foreverGrace (unless wait).
type whyWatcher struct {
	jc     *client.Client
	id     string
	errw   io.Writer
	print  bool
	wait   bool
	cancel context.CancelFunc

	mu          sync.Mutex
	pending     bool
	running     bool
	done        chan struct{}
	shown       string
	foreverFrom time.Time
	stuckText   string
}

func (w *whyWatcher) update(st job.Status) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = false
	for _, t := range st.Tasks {
		if t.Counts.Pending > 0 {
			w.pending = true
		}
	}
	if w.pending && !w.running && !st.State.Terminal() {
		w.running = true
		w.done = make(chan struct{})
		go w.loop(w.done)
	}
}

func (w *whyWatcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running {
		close(w.done)
		w.running = false
	}
}

func (w *whyWatcher) stuck() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stuckText
}

func (w *whyWatcher) loop(done chan struct{}) {
	t := time.NewTicker(whyPoll)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		w.mu.Lock()
		pending := w.pending
		w.mu.Unlock()
		if !pending {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), whyPoll*2)
		v, err := w.jc.Get(ctx, w.id)
		cancel()
		if err != nil {
			continue
		}
		w.consider(v, time.Now())
	}
}

// consider prints a changed explanation and decides whether the watch
// should stop.
func (w *whyWatcher) consider(v client.JobView, now time.Time) {
	text, forever := whyText(v)
	w.mu.Lock()
	defer w.mu.Unlock()
	if text != w.shown && text != "" && w.print {
		fmt.Fprintln(w.errw, text)
	}
	w.shown = text
	if forever == "" {
		w.foreverFrom = time.Time{}
		return
	}
	if w.foreverFrom.IsZero() {
		w.foreverFrom = now
	}
	if !w.wait && now.Sub(w.foreverFrom) >= foreverGrace && w.stuckText == "" {
		w.stuckText = forever
		w.cancel()
	}
}

// whyText is the why-pending line of a job view ("" when none), and the
// tasks that can never be placed ("" when none).
func whyText(v client.JobView) (text, forever string) {
	var lines, never []string
	for _, t := range v.Tasks {
		if t.Why == nil {
			continue
		}
		var rs []string
		for _, r := range t.Why.Reasons {
			rs = append(rs, fmt.Sprintf("%s ×%d", r.Reason, r.Count))
		}
		one := fmt.Sprintf("%s %s: %s", t.Name, t.Why.Code, strings.Join(rs, ", "))
		lines = append(lines, one)
		if t.Why.Code == client.UnschedulableForever {
			never = append(never, fmt.Sprintf("task %s can never be placed on the known agents (%s)", t.Name, strings.Join(rs, ", ")))
		}
	}
	if len(lines) > 0 {
		text = "why pending: " + strings.Join(lines, " | ")
	}
	return text, strings.Join(never, "; ")
}

// explainFailure prints the first failing instances of a job that did not
// succeed and the command to read their stderr. An API without the
// instance listing prints nothing.
func explainFailure(ctx context.Context, w io.Writer, jc *client.Client, id string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	page, err := jc.Instances(ctx, id, client.InstancesOptions{States: []job.State{job.Failed}, Limit: maxFailuresShown})
	if err != nil || len(page.Instances) == 0 {
		return
	}
	fmt.Fprintf(w, "\nfailed instances (%d of %d):\n", len(page.Instances), page.Total)
	for _, l := range failureLines(id, page) {
		fmt.Fprintln(w, l)
	}
}

// failureLines are, per failed instance, how it failed, then the logs
// command for the first one.
func failureLines(id string, page client.InstancePage) []string {
	ins := append([]client.Instance(nil), page.Instances...)
	sort.SliceStable(ins, func(a, b int) bool { return firstEnd(ins[a]).Before(firstEnd(ins[b])) })
	var out []string
	for _, in := range ins {
		out = append(out, fmt.Sprintf("  %s/%d  %s", in.Task, in.Index, failureText(in)))
	}
	if len(ins) > 0 {
		out = append(out, fmt.Sprintf("next: gleaner job logs %s %s/%d --stderr", shellWord(id), shellWord(ins[0].Task), ins[0].Index))
	}
	return out
}

// firstEnd is when an instance's last attempt ended (zero when unknown),
// to put the instance that failed first first.
func firstEnd(in client.Instance) time.Time {
	if n := len(in.Attempts); n > 0 && in.Attempts[n-1].Ended != nil {
		return *in.Attempts[n-1].Ended
	}
	return time.Time{}
}

// shellWord quotes s for a shell when it holds anything but safe bytes.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
