package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects a process's output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildGleaner builds cmd/gleaner with the e2e tests' flags (so `make
// test` builds it once for both).
func buildGleaner(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gleaner")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/gleaner-project/gleaner/cmd/gleaner")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/gleaner: %v\n%s", err, out)
	}
	return bin
}

// stack is a running `gleaner dev`.
type stack struct {
	url, admin string
	log        *lockedBuffer
}

// startDev runs `gleaner dev` with two agents (and their monitors) until
// the test ends; it returns once the scheduler leads and is subscribed.
func startDev(t *testing.T, bin string) *stack {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	args := []string{"dev", "--listen", addr, "--data-dir", dir, "--agents", "2", "--token-out", filepath.Join(dir, "token")}
	if os.Geteuid() != 0 {
		args = append(args, "--command-executor") // the Gleaner executor's chroot and cgroups need root
	}
	dev := exec.Command(bin, args...)
	dev.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
	log := &lockedBuffer{}
	dev.Stdout, dev.Stderr = log, log
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	// exited closes when the process has ended (waitErr then holds why), so
	// the start-up wait and the cleanup can both observe it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = dev.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = dev.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("gleaner dev output:\n%s", log.String())
		}
	})
	s := &stack{url: "http://" + addr, log: log}
	waitFor(t, "gleaner dev to lead and subscribe", 60*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("gleaner dev exited: %v\n%s", waitErr, log.String())
		default:
		}
		for _, line := range strings.Split(log.String(), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "token:" {
				s.admin = f[1]
			}
		}
		var h struct{ Leader, Subscribed bool }
		code, err := s.call("GET", "/healthz", "", nil, &h)
		return err == nil && code == 200 && h.Leader && h.Subscribed && s.admin != ""
	})
	return s
}

// call sends one API request with token (none when ""), decoding a JSON
// answer into out when given.
func (s *stack) call(method, path, token string, body any, out any) (int, error) {
	var rd io.Reader
	if b, ok := body.(string); ok {
		rd = strings.NewReader(b)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s: %w", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, nil
}

// readOnlyToken creates a read-only API token through the token API.
func (s *stack) readOnlyToken(t *testing.T) string {
	t.Helper()
	var out struct{ Token string }
	code, err := s.call("POST", "/v1/tokens", s.admin, map[string]string{"name": "ui-viewer", "role": "read-only"}, &out)
	if err != nil || code/100 != 2 || out.Token == "" {
		t.Fatalf("create a read-only token: %d %v %+v", code, err, out)
	}
	return out.Token
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
