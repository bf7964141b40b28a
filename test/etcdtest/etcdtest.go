package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is a running etcd member.
type Server struct {
	// Endpoints are the client URLs, e.g. http://127.0.0.1:23790.
	Endpoints []string

	dir        string
	clientURL  string
	peerURL    string
	mu         sync.Mutex
	embedded   *embed.Etcd
	process    *exec.Cmd
	binaryPath string
	tune       func(*embed.Config) // EmbeddedWith's, kept for Restart
}

// Embedded starts an in-process etcd with its data in dir.
func Embedded(dir string) (*Server, error) { return EmbeddedWith(dir, nil) }

// EmbeddedWith is Embedded with tune (if not nil) adjusting the server's
// configuration (compaction, quota) before it starts.
func EmbeddedWith(dir string, tune func(*embed.Config)) (*Server, error) {
	s, err := onFreePorts(dir)
	if err != nil {
		return nil, err
	}
	s.tune = tune
	return s, s.startEmbedded()
}

// onFreePorts is a server with its data in dir on two free loopback ports,
// not started yet.
func onFreePorts(dir string) (*Server, error) {
	clientPort, peerPort, err := freePorts()
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir:       dir,
		clientURL: fmt.Sprintf("http://127.0.0.1:%d", clientPort),
		peerURL:   fmt.Sprintf("http://127.0.0.1:%d", peerPort),
	}
	s.Endpoints = []string{s.clientURL}
	return s, nil
}

func (s *Server) startEmbedded() error {
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(s.dir, "etcd")
	cfg.Name = "gleaner-dev"
	cu, _ := url.Parse(s.clientURL)
	pu, _ := url.Parse(s.peerURL)
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + s.peerURL
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.LogLevel = "error"
	if s.tune != nil {
		s.tune(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return errors.New("start embedded etcd: not ready after 30s")
	}
	s.mu.Lock()
	s.embedded = e
	s.mu.Unlock()
	return nil
}

// DebianBinary is where Debian's etcd-server package installs etcd.
const DebianBinary = "/usr/bin/etcd"

// Process starts the etcd binary at path (Debian's etcd-server 3.4) as a
// child process with its data in dir.
func Process(path, dir string) (*Server, error) {
	s, err := onFreePorts(dir)
	if err != nil {
		return nil, err
	}
	s.binaryPath = path
	return s, s.startProcess()
}

func (s *Server) startProcess() error {
	cmd := exec.Command(s.binaryPath,
		"--name", "gleaner-test",
		"--data-dir", filepath.Join(s.dir, "etcd"),
		"--listen-client-urls", s.clientURL, "--advertise-client-urls", s.clientURL,
		"--listen-peer-urls", s.peerURL, "--initial-advertise-peer-urls", s.peerURL,
		"--initial-cluster", "gleaner-test="+s.peerURL,
		"--log-level", "error", "--logger", "zap")
	cmd.Env = append(os.Environ(), "ETCD_UNSUPPORTED_ARCH=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(filepath.Join(s.dir, "etcd.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.binaryPath, err)
	}
	logf.Close()
	s.mu.Lock()
	s.process = cmd
	s.mu.Unlock()
	if err := s.waitHealthy(30 * time.Second); err != nil {
		s.Stop()
		return err
	}
	return nil
}

func (s *Server) waitHealthy(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := clientv3.New(clientv3.Config{Endpoints: s.Endpoints, DialTimeout: time.Second, Logger: zap.NewNop()})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = c.Get(ctx, "health")
			cancel()
			c.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd at %s not healthy after %s: %w", s.clientURL, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client returns a new client for the server; the caller closes it. Its
// logger is silent: tests stop etcd on purpose, and the client's retry
// warnings would only bury the test output.
func (s *Server) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: s.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

// Stop stops the server, keeping its data so Restart can bring it back.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.embedded != nil {
		s.embedded.Close()
		<-s.embedded.Server.StopNotify()
		s.embedded = nil
	}
	if s.process != nil {
		_ = syscall.Kill(-s.process.Process.Pid, syscall.SIGKILL)
		_ = s.process.Wait()
		s.process = nil
	}
}

// Restart starts a stopped server again on the same ports with the same data.
func (s *Server) Restart() error {
	if s.binaryPath != "" {
		return s.startProcess()
	}
	return s.startEmbedded()
}

// Start runs an embedded etcd for the test and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Embedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartDebian runs Debian's etcd-server binary for the test, skipping the test
// when it is not installed (make test installs it).
func StartDebian(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(DebianBinary); err != nil {
		t.Skipf("%s not installed (Debian package etcd-server): %v", DebianBinary, err)
	}
	s, err := Process(DebianBinary, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// NewClient returns a client for s that is closed at test cleanup.
func NewClient(t testing.TB, s *Server) *clientv3.Client {
	t.Helper()
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func freePorts() (int, int, error) {
	var ports [2]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}
