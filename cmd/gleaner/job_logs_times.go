package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/client"
)

// `job logs --timestamps` and `--since`: the Gleaner executor records, in
// <stream>.times beside each task log, when each line began (the task's
// output itself is kept as written). The two are read side by side and
// paired line by line. A log without line times (the command executor's,
// or an older executor's) prints without them, with a warning; --since
// cannot filter it and says so.

// errNoLineTimes: --since asked for a log that has no line times.
var errNoLineTimes = errors.New("--since needs line times, and this log has none (its executor recorded none: the command executor, or a Gleaner executor older than line times)")

// parseSince reads --since: a duration back from now (10m, 1h30m) or a
// time (RFC 3339, e.g. 2026-12-05T16:00:00Z).
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %q: want a positive duration (10m) or an RFC 3339 time", v)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (10m, 1h30m) or an RFC 3339 time (2026-12-05T16:00:00Z)", v)
}

// lineTimes yields a log's line times in order, read from a stream.
type lineTimes struct {
	sc      *bufio.Scanner
	missing bool // the log has no line times
	done    bool
}

// next returns the time of the log's next line; ok is false when there
// is none (no line times, or fewer times than lines: capped).
func (l *lineTimes) next() (t time.Time, ok bool) {
	if l.done {
		return time.Time{}, false
	}
	for l.sc.Scan() {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(l.sc.Text())); err == nil {
			return t, true
		}
	}
	l.done = true
	if errors.Is(l.sc.Err(), client.ErrNotFound) {
		l.missing = true
	}
	return time.Time{}, false
}

// openLineTimes streams an instance's line times (following them with
// o.Follow) until ctx ends.
func openLineTimes(ctx context.Context, c *client.Client, jobID, task string, index int, o client.LogsOptions) *lineTimes {
	o.Times, o.Offset = true, 0
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(c.Logs(ctx, jobID, task, index, o, pw))
	}()
	context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 256), 256) // a time is ~30 bytes
	return &lineTimes{sc: sc}
}

// stampWriter writes whole lines, each with its time first (show), and
// drops those before since; it pairs line N of the log with time N.
type stampWriter struct {
	w     io.Writer
	times *lineTimes
	show  bool
	since time.Time
	warn  func(string)
	buf   []byte
	// warned: the missing times were reported.
	warned bool
}

func (s *stampWriter) Write(b []byte) (int, error) {
	s.buf = append(s.buf, b...)
	var out bytes.Buffer
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			if len(s.buf) < maxLineBuffer {
				break
			}
			i = len(s.buf) - 1 // an overlong line is cut
		}
		if err := s.line(&out, s.buf[:i+1]); err != nil {
			return 0, err
		}
		s.buf = s.buf[i+1:]
	}
	if out.Len() > 0 {
		if _, err := s.w.Write(out.Bytes()); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (s *stampWriter) line(out *bytes.Buffer, line []byte) error {
	t, ok := s.times.next()
	if !ok && s.times.missing {
		if !s.since.IsZero() {
			return errNoLineTimes
		}
		if !s.warned && s.warn != nil {
			s.warn("no line times recorded for this log (the command executor's, or an older executor's): lines shown without them")
		}
		s.warned = true
	}
	if ok && !s.since.IsZero() && t.Before(s.since) {
		return nil
	}
	if s.show {
		if ok {
			out.WriteString(t.UTC().Format(time.RFC3339Nano))
		} else {
			out.WriteString("-")
		}
		out.WriteByte(' ')
	}
	out.Write(line)
	if line[len(line)-1] != '\n' {
		out.WriteByte('\n')
	}
	return nil
}

// skip pairs away the times of n lines not shown (--tail).
func (s *stampWriter) skip(n int64) {
	for ; n > 0; n-- {
		if _, ok := s.times.next(); !ok {
			return
		}
	}
}

// Flush writes a last line without its newline (adding one).
func (s *stampWriter) Flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	var out bytes.Buffer
	err := s.line(&out, s.buf)
	s.buf = nil
	if err != nil {
		return err
	}
	_, err = s.w.Write(out.Bytes())
	return err
}

// countLines counts the lines of b, a last one without its newline too.
func countLines(b []byte) int64 {
	n := int64(bytes.Count(b, []byte{'\n'}))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}
