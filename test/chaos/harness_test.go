package chaos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// proc is one child process of the run (mesos-local or a scheduler), in its
// own process group, killed if the test binary dies.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
}

// startProc starts bin with args, stdout and stderr appended to logPath
// (stdout, when not nil, gets stdout instead).
func startProc(name, bin string, args, env []string, logPath string, stdout io.Writer) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// kill sends sig and waits until the process is reaped (SIGTERM: up to
// 20 s, then SIGKILL).
func (p *proc) kill(sig syscall.Signal) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return
	case <-time.After(20 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// gleanerBinary is $GLEANER_BIN, or a fresh build of cmd/gleaner in dir.
func gleanerBinary(t *testing.T, dir string) string {
	t.Helper()
	if b := os.Getenv("GLEANER_BIN"); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	bin := filepath.Join(dir, "gleaner")
	// The same flags as the e2e tests' build, so make test links it once.
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/gleaner-project/gleaner/cmd/gleaner")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/gleaner: %v\n%s", err, out)
	}
	return bin
}

func randomToken(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// mesosLocal starts `gleaner mesos-local` and returns the process, the
// master URL and the control URL it prints.
func mesosLocal(bin string, args, env []string, logPath string) (*proc, string, string, error) {
	pr, pw := io.Pipe()
	p, err := startProc("mesos-local", bin, args, env, logPath, pw)
	if err != nil {
		return nil, "", "", err
	}
	go func() { <-p.done; pw.Close() }()
	var master, control string
	sc := bufio.NewScanner(pr)
	for (master == "" || control == "") && sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "master: "); ok {
			master = v
		}
		if v, ok := strings.CutPrefix(line, "control: "); ok {
			control = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if master == "" || control == "" {
		p.kill(syscall.SIGKILL)
		return nil, "", "", fmt.Errorf("mesos-local printed no master or control URL (log: %s)", logPath)
	}
	return p, master, control, nil
}

// client calls the scheduler API of whichever node answers, with the
// bearer token on every request; writes follow a standby's 307 to the
// leader by hand (so the token goes along).
type client struct {
	token string
	urls  []string
	hc    *http.Client
}

func newClient(token string, urls ...string) *client {
	return &client{token: token, urls: urls, hc: &http.Client{
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// httpError is an API answer that is not 2xx.
type httpError struct {
	code int
	body string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

// retryable: the node is down, a standby without a leader, or etcd away.
func retryable(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		return he.code == http.StatusServiceUnavailable || he.code == http.StatusTemporaryRedirect || he.code >= 500
	}
	return err != nil
}

// once sends one request to base (following one redirect) and decodes a
// 2xx JSON answer into out.
func (c *client) once(ctx context.Context, base, method, path string, body []byte, out any) error {
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		if body != nil {
			req.Header.Set("Content-Type", "application/yaml")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusTemporaryRedirect && hop == 0 {
			loc := resp.Header.Get("Location")
			if i := strings.Index(loc, "/v1/"); i > 0 {
				base = loc[:i]
				continue
			}
		}
		if resp.StatusCode/100 != 2 {
			return &httpError{code: resp.StatusCode, body: strings.TrimSpace(string(b))}
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(b, out)
	}
}

// do tries every node until one answers, for as long as ctx allows.
func (c *client) do(ctx context.Context, method, path string, body []byte, out any) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var err error
		for _, u := range c.urls {
			if err = c.once(ctx, u, method, path, body, out); !retryable(err) {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w (last: %v)", method, path, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// health is GET /healthz of one node.
type health struct {
	Leader     bool `json:"leader"`
	Subscribed bool `json:"subscribed"`
}

func (c *client) health(ctx context.Context, base string) (health, error) {
	var h health
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return h, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	// A standby may answer 503; the body says what it is either way.
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h)
	return h, err
}

// await polls cond every 50 ms until it holds, ctx ends or limit passes.
func await(ctx context.Context, what string, limit time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// post sends an empty POST to a control URL.
func post(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return nil
}

// countLines counts the lines of a file (0 when it does not exist yet).
type lineCounter struct {
	mu   sync.Mutex
	path string
	off  int64
	n    int
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := os.Open(c.path)
	if err != nil {
		return c.n
	}
	defer f.Close()
	if _, err := f.Seek(c.off, io.SeekStart); err != nil {
		return c.n
	}
	b, _ := io.ReadAll(f)
	// Count whole lines only; a partial line is read again next time.
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		c.n += bytes.Count(b[:i+1], []byte{'\n'})
		c.off += int64(i + 1)
	}
	return c.n
}
