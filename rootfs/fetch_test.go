package rootfs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

// A bundle server that misbehaves in one way: it answers only after a
// pause, or sends part of the bundle and then stalls, or trickles it.
func misbehavingServer(t *testing.T, bundle []byte, headerDelay, stallAfter int, trickle time.Duration) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerDelay > 0 {
			select { // never answer; end with the test
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(bundle)))
		w.WriteHeader(http.StatusOK)
		for i := 0; i < len(bundle); i += 1024 {
			if stallAfter >= 0 && i >= stallAfter {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			_, _ = w.Write(bundle[i:min(i+1024, len(bundle))])
			w.(http.Flusher).Flush()
			if trickle > 0 {
				select {
				case <-time.After(trickle):
				case <-r.Context().Done():
					return
				}
			}
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// A download that stops delivering, answers no headers, or takes too long
// is cut off, with an error naming the phase, and leaves nothing in the
// cache; a well-behaved one within the same bounds succeeds.
func TestFetchTimeouts(t *testing.T) {
	bundle, digest := rootfstest.Bomb(t, 8<<20) // a few KB compressed, served 1 KB a write
	if len(bundle) < 4096+1024 {
		t.Fatalf("bundle of %d bytes is too small to stall after 4096", len(bundle))
	}
	for _, c := range []struct {
		name        string
		headerDelay int
		stallAfter  int
		trickle     time.Duration
		timeouts    rootfs.FetchTimeouts
		phase       string
	}{
		{"stalls mid-body", 0, 4096, 0, rootfs.FetchTimeouts{Stall: 300 * time.Millisecond}, rootfs.FetchStall},
		{"no headers", 1, -1, 0, rootfs.FetchTimeouts{Header: 300 * time.Millisecond}, rootfs.FetchHeader},
		{"trickles past the total", 0, -1, 200 * time.Millisecond,
			rootfs.FetchTimeouts{Stall: 10 * time.Second, Total: 500 * time.Millisecond}, rootfs.FetchTotal},
		{"well-behaved", 0, -1, 0, rootfs.FetchTimeouts{Stall: 10 * time.Second, Header: 10 * time.Second}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := misbehavingServer(t, bundle, c.headerDelay, c.stallAfter, c.trickle)
			cache, err := rootfs.NewCache(filepath.Join(t.TempDir(), "cache"))
			if err != nil {
				t.Fatal(err)
			}
			cache.Fetch = c.timeouts
			done := make(chan error, 1)
			go func() {
				l, err := cache.Acquire(context.Background(), digest, srv.URL+"/b.tar.gz")
				if err == nil {
					l.Release()
				}
				done <- err
			}()
			var got error
			select {
			case got = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("the download was never cut off")
			}
			if c.phase == "" {
				if got != nil {
					t.Fatal(got)
				}
				if _, ok := cache.Get(digest); !ok {
					t.Fatal("bundle not cached")
				}
				return
			}
			var te *rootfs.FetchTimeoutError
			if !errors.As(got, &te) || te.Phase != c.phase || te.URI != srv.URL+"/b.tar.gz" {
				t.Fatalf("got %v, want a %s timeout", got, c.phase)
			}
			if c.phase == rootfs.FetchStall && te.Bytes < 4096 {
				t.Errorf("stall after %d bytes, want at least 4096", te.Bytes)
			}
			if used := rootfs.DiskUsage(cache.Dir); used > 64<<10 {
				t.Errorf("%d bytes left in the cache", used)
			}
		})
	}
}

func TestFetchTimeoutsWithDefaults(t *testing.T) {
	d := rootfs.FetchTimeouts{}.WithDefaults()
	if d != rootfs.DefaultFetchTimeouts || d.Connect <= 0 || d.Header <= 0 || d.Stall <= 0 || d.Total <= 0 {
		t.Fatalf("defaults %+v", d)
	}
	if got := (rootfs.FetchTimeouts{Stall: time.Second}).WithDefaults(); got.Stall != time.Second || got.Total != d.Total {
		t.Fatalf("a set field must stay: %+v", got)
	}
}
