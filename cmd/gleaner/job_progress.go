package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Live progress of `gleaner job submit --watch` / `gleaner job watch`: on a
// terminal one progress bar per task, redrawn in place; elsewhere (CI,
// pipes) one line per change.

// watchPrinter returns how each watch update is shown for c's output and
// writer: nothing unless the output is a table.
func watchPrinter(c *cli.Context) func(job.Status) {
	if c.String("output") != "table" {
		return func(job.Status) {}
	}
	w := c.App.Writer
	if isTerminal(w) {
		width := 100
		if f, ok := w.(*os.File); ok {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 40 {
				width = cols
			}
		}
		r := &barRenderer{w: w, width: width}
		return r.show
	}
	return func(st job.Status) { fmt.Fprintln(w, progressLine(time.Now(), st)) }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressLine is the one-line form of a watch update.
func progressLine(now time.Time, st job.Status) string {
	parts := make([]string, 0, len(st.Tasks))
	for _, t := range st.Tasks {
		if t.State == job.Skipped {
			parts = append(parts, t.Name+" skipped")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d ok, %s", t.Name, t.Counts.Succeeded, t.Instances, activeCounts(t.Counts)))
	}
	return fmt.Sprintf("%s  %-9s  %s", now.Format("15:04:05"), st.State, strings.Join(parts, " | "))
}

// activeCounts is a task's running and failed instances, and those waiting
// to run again after an ended attempt when there are any.
func activeCounts(c job.Counts) string {
	s := fmt.Sprintf("%d run, %d fail", c.Running, c.Failed)
	if c.Retrying > 0 {
		s += fmt.Sprintf(", %d retrying", c.Retrying)
	}
	return s
}

// taskBar renders one task's bar: succeeded of total, with the running and
// failed counts and the task's state after it. width bounds the line.
func taskBar(t job.TaskStatus, nameWidth, width int) string {
	total := max(t.Instances, 1)
	tail := fmt.Sprintf(" %s  %s", activeCounts(t.Counts), t.State)
	barWidth := max(width-nameWidth-len(tail)-2*len(fmt.Sprint(total))-12, 10)
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetDescription(fmt.Sprintf("%-*s", nameWidth, t.Name)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(min(barWidth, 40)),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetRenderBlankState(true),
	)
	_ = bar.Set(min(t.Counts.Succeeded, total))
	return strings.TrimRight(strings.TrimLeft(bar.String(), "\r"), " ") + tail
}

// progressLines is the whole picture: the job's line, then one bar per task.
func progressLines(st job.Status, width int) []string {
	nameWidth := 0
	for _, t := range st.Tasks {
		nameWidth = max(nameWidth, len(t.Name))
	}
	lines := []string{fmt.Sprintf("job %s  %s", st.ID, st.State)}
	if st.Reason != "" {
		lines[0] += "  " + st.Reason
	}
	for _, t := range st.Tasks {
		lines = append(lines, taskBar(t, nameWidth, width))
	}
	return lines
}

// redraw returns what replaces the prev lines drawn last time by lines:
// the cursor goes back up, and each line is cleared before it is written.
func redraw(prev int, lines []string) string {
	var b strings.Builder
	if prev > 0 {
		fmt.Fprintf(&b, "\033[%dA", prev)
	}
	for _, l := range lines {
		b.WriteString("\r\033[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	// a picture shorter than the last one: clear what is left below
	for i := len(lines); i < prev; i++ {
		b.WriteString("\r\033[2K\n")
	}
	if extra := prev - len(lines); extra > 0 {
		fmt.Fprintf(&b, "\033[%dA", extra)
	}
	return b.String()
}

// barRenderer draws progressLines in place on a terminal.
type barRenderer struct {
	w     io.Writer
	width int
	drawn int
}

func (r *barRenderer) show(st job.Status) {
	lines := progressLines(st, r.width)
	io.WriteString(r.w, redraw(r.drawn, lines))
	r.drawn = len(lines)
}
