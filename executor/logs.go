package executor

import (
	"fmt"
	"os"
	"sync"
)

// cappedFile keeps the first limit bytes written to it and drops the rest
// (the writer never blocks or fails, so the task never stalls on output).
type cappedFile struct {
	mu      sync.Mutex
	f       *os.File
	limit   int64
	n       int64
	dropped int64
}

func newCappedFile(path string, limit int64, uid, gid int) (*cappedFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("task log: %w", err)
	}
	return &cappedFile{f: f, limit: limit}, nil
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
	n, _ := c.f.Write(w)
	c.n += int64(n)
	return len(p), nil
}

// Close notes how much was dropped and closes the file.
func (c *cappedFile) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped > 0 {
		fmt.Fprintf(c.f, "\n[gleaner: output capped at %d bytes; %d bytes dropped]\n", c.limit, c.dropped)
	}
	return c.f.Close()
}
