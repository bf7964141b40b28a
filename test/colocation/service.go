package colocation

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Service is the business service: every request does about Work of CPU
// (a calibrated hashing loop) and reads and writes pages of a working set,
// the memory a real service keeps hot.
type Service struct {
	workingSet []byte
	iterations int // hashing rounds per request
	touches    int // pages touched per request
	seq        atomic.Uint64
}

// ServiceConfig sizes the service.
type ServiceConfig struct {
	Work          time.Duration // CPU per request (default 1ms)
	WorkingSetMiB int           // default 64
	Touches       int           // pages touched per request (default 64)
}

const pageSize = 4096

// NewService allocates and faults in the working set and calibrates the
// CPU loop against this thread's CPU clock, so a busy host does not
// inflate the work.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Work <= 0 {
		cfg.Work = time.Millisecond
	}
	if cfg.WorkingSetMiB <= 0 {
		cfg.WorkingSetMiB = 64
	}
	if cfg.Touches <= 0 {
		cfg.Touches = 64
	}
	if cfg.WorkingSetMiB > 4096 {
		return nil, fmt.Errorf("working set %d MiB: at most 4096", cfg.WorkingSetMiB)
	}
	s := &Service{workingSet: make([]byte, cfg.WorkingSetMiB<<20), touches: cfg.Touches}
	for i := 0; i < len(s.workingSet); i += pageSize {
		s.workingSet[i] = byte(i)
	}
	per, err := calibrate()
	if err != nil {
		return nil, err
	}
	s.iterations = max(1, int(float64(cfg.Work)/float64(per)))
	return s, nil
}

// spin does n rounds of hashing and returns the sum (kept so the compiler
// cannot drop the work).
func spin(n int) uint64 {
	h := fnv.New64a()
	var buf [64]byte
	var sum uint64
	for i := 0; i < n; i++ {
		buf[0] = byte(i)
		h.Write(buf[:])
		sum += h.Sum64()
	}
	return sum
}

// calibrate measures the thread CPU time of one spin round.
func calibrate() (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rounds = 200000
	best := time.Duration(1<<63 - 1)
	for try := 0; try < 3; try++ {
		t0, err := threadCPU()
		if err != nil {
			return 0, err
		}
		spin(rounds)
		t1, err := threadCPU()
		if err != nil {
			return 0, err
		}
		best = min(best, t1-t0)
	}
	if best <= 0 {
		return 0, errors.New("calibrate: no thread CPU time measured")
	}
	return best / rounds, nil
}

func threadCPU() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("clock_gettime(thread cpu): %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// ServeHTTP does one request's work and answers its checksum.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.seq.Add(1)
	sum := spin(s.iterations)
	pages := len(s.workingSet) / pageSize
	x := n * 0x9E3779B97F4A7C15
	for i := 0; i < s.touches; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p := int(x%uint64(pages)) * pageSize
		s.workingSet[p]++
		sum += uint64(s.workingSet[p+pageSize/2])
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(strconv.FormatUint(sum, 16)))
}

// Serve answers on l until ctx ends.
func (s *Service) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
