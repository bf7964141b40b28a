package s3run

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Server is a running s3server.
type Server struct {
	Addr   string // host:port
	Bucket string
}

// Start builds test/s3server and runs it with a bucket and a file backend in
// a temporary directory, until the test ends. goBuildDir is any directory
// inside the module (the test's own is fine).
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "s3server")
	build := exec.Command("go", "build", "-o", bin, "github.com/gleaner-project/gleaner/test/s3server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build s3server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "s3.db"), "--bucket", bucket)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start s3server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("s3server exited before it listened")
		}
		return &Server{Addr: a, Bucket: bucket}
	case <-time.After(60 * time.Second):
		t.Fatal("s3server did not listen within 60s")
	}
	return nil
}

// URL is the artifact store URL of the server's bucket under prefix.
func (s *Server) URL(prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&insecure=true", s.Bucket, prefix, s.Addr)
}
