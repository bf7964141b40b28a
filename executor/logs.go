package executor

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"
)

// TimesSuffix names a log's line-times file: <stream>.times beside
// <stream> holds, for each line of the log in order, the time (RFC 3339,
// UTC, nanoseconds) the executor received the line's first bytes. The
// task's output itself is kept as written; `gleaner job logs --timestamps`
// and `--since` pair the two files line by line.
const TimesSuffix = ".times"

// minTimesLimit: the line-times file is capped like its log, but never
// below this (a log of short lines has more times than bytes).
const minTimesLimit = 64 << 10

// cappedFile keeps the first limit bytes written to it and drops the rest
// (the writer never blocks or fails, so the task never stalls on output),
// and records when each kept line began in <path>.times (capped alike).
type cappedFile struct {
	mu      sync.Mutex
	f       *os.File
	limit   int64
	n       int64
	dropped int64
	times   *os.File // nil if it could not be created: no line times
	timesN  int64
	// midLine: the last byte kept was not a newline.
	midLine bool
	now     func() time.Time
}

func newCappedFile(path string, limit int64, uid, gid int) (*cappedFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("task log: %w", err)
	}
	c := &cappedFile{f: f, limit: limit, now: time.Now}
	// Line times are a convenience: a log without them is still a log.
	if t, err := os.OpenFile(path+TimesSuffix, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644); err == nil {
		c.times = t
	}
	return c, nil
}

func (c *cappedFile) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.limit - c.n
	if room <= 0 {
		c.dropped += int64(len(p))
		return len(p), nil
	}
	w := p
	if int64(len(w)) > room {
		w = w[:room]
		c.dropped += int64(len(p)) - room
	}
	c.recordLineStarts(w) // before the bytes: a reader never sees a line before its time
	n, _ := c.f.Write(w)
	c.n += int64(n)
	return len(p), nil
}

// recordLineStarts appends one time per line that begins in w.
func (c *cappedFile) recordLineStarts(w []byte) {
	if c.times == nil || len(w) == 0 {
		return
	}
	starts := bytes.Count(w, []byte{'\n'})
	if !c.midLine {
		starts++ // w's first byte begins a line
	}
	if w[len(w)-1] == '\n' {
		starts-- // the last newline begins no line yet
	}
	c.midLine = w[len(w)-1] != '\n'
	if starts <= 0 {
		return
	}
	stamp := c.now().UTC().Format(time.RFC3339Nano) + "\n"
	buf := bytes.Repeat([]byte(stamp), starts)
	if room := max(c.limit, minTimesLimit) - c.timesN; int64(len(buf)) > room {
		buf = buf[:max(room, 0)/int64(len(stamp))*int64(len(stamp))]
	}
	n, _ := c.times.Write(buf)
	c.timesN += int64(n)
}

// Close notes how much was dropped and closes the file.
func (c *cappedFile) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.times != nil {
		c.times.Close()
	}
	if c.dropped > 0 {
		fmt.Fprintf(c.f, "\n[gleaner: output capped at %d bytes; %d bytes dropped]\n", c.limit, c.dropped)
	}
	return c.f.Close()
}
