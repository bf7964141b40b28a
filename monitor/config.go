package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/monitor/reserver"
	"github.com/gleaner-project/gleaner/monitor/throttle"
)

// Config of one monitor (one per agent). Zero durations and roots take the
// defaults named on each field.
type Config struct {
	// MasterURL of the Mesos master, e.g. http://127.0.0.1:5050.
	MasterURL string
	// AgentHostname is the hostname the agent registered with.
	AgentHostname string
	// Role the batch reservation is made for (default batch).
	Role string
	// Principal for the reservation and HTTP basic auth; the secret is
	// read from SecretFile (trailing whitespace dropped).
	Principal  string
	SecretFile string

	// EtcdEndpoints of the Gleaner etcd; EtcdPrefix (default /gleaner/)
	// is where the heartbeat and eviction keys live.
	EtcdEndpoints []string
	EtcdPrefix    string
	// HeartbeatTTL is the lease of the heartbeat record (default 10s, at
	// least 3 intervals).
	HeartbeatTTL time.Duration

	// Listen is the address of /metrics and /healthz ("" = none).
	Listen string

	// Interval between samples (default 1s).
	Interval time.Duration
	// FastInterval between the cheap CPU readings that engage the throttle
	// between samples (default Interval/4; negative disables them).
	FastInterval time.Duration
	// ReconcileInterval: how often the master's view is re-read when
	// nothing changes, and how long to wait after a partial or refused
	// change before trying again (default 10s).
	ReconcileInterval time.Duration

	// Filesystem roots (defaults /proc, /sys, /sys/fs/cgroup) and the batch
	// cgroups' parent (default gleaner).
	ProcRoot, SysRoot, CgroupRoot, CgroupParent string
	// BundleCacheDirs are the host's bundle cache directories (the
	// executors' --bundle-cache); their disk use is batch disk.
	BundleCacheDirs []string
	// ReleaseStartupPages reclaims the binary's clean pages once running
	// (the gleaner command sets it; the binary holds every subcommand).
	ReleaseStartupPages bool
	// NoThrottle disables CPU throttling (hosts without writable cgroups).
	NoThrottle bool
	// SLOProbeURL is a business URL the monitor GETs every FastInterval
	// (Interval/4 when the fast check is off) for Policy.LatencySLOMs, the
	// latency feedback; both are set or neither.
	SLOProbeURL string

	// ExecutorsKeepClass leaves the executor processes (outside the batch
	// cgroups) in their scheduling class; by default, with the policy's
	// BatchIdle, each one found is made SCHED_IDLE with its threads (the
	// tasks it starts later inherit it).
	ExecutorsKeepClass bool

	// CapacityCPUs and CapacityMemMB override the measured host capacity
	// (0 = measured).
	CapacityCPUs, CapacityMemMB float64

	// Policy knobs; zero value means policy.DefaultParams().
	Policy policy.Params

	// Logger (default slog.Default()).
	Logger *slog.Logger

	// Injected dependencies for tests and `gleaner dev`; nil = built from
	// the fields above.
	Reservations reserver.Reservations
	Throttler    throttle.Throttler
	Etcd         *clientv3.Client
}

// withDefaults fills the defaults and checks every field, naming the bad one.
func (c Config) withDefaults() (Config, error) {
	if c.Role == "" {
		c.Role = "batch"
	}
	if c.EtcdPrefix == "" {
		c.EtcdPrefix = "/gleaner/"
	}
	if !strings.HasSuffix(c.EtcdPrefix, "/") {
		c.EtcdPrefix += "/"
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.FastInterval == 0 {
		c.FastInterval = c.Interval / 4
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = 10 * time.Second
	}
	if c.HeartbeatTTL == 0 {
		c.HeartbeatTTL = max(10*time.Second, 3*c.Interval)
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "gleaner"
	}
	if c.Policy == (policy.Params{}) {
		c.Policy = policy.DefaultParams()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.Reservations == nil && c.MasterURL == "":
		return c, errors.New("master: must be set")
	case c.AgentHostname == "":
		return c, errors.New("agent hostname: must be set")
	case c.Role == "*":
		return c, errors.New("role: must not be *")
	case c.Etcd == nil && len(c.EtcdEndpoints) == 0:
		return c, errors.New("etcd: at least one endpoint must be set")
	case c.Interval < 10*time.Millisecond:
		return c, fmt.Errorf("interval %v: must be at least 10ms", c.Interval)
	case c.FastInterval > 0 && (c.FastInterval < 5*time.Millisecond || c.FastInterval > c.Interval):
		return c, fmt.Errorf("fast interval %v: must be between 5ms and the interval %v (negative: off)", c.FastInterval, c.Interval)
	case c.ReconcileInterval < c.Interval:
		return c, fmt.Errorf("reconcile interval %v: must be at least the interval %v", c.ReconcileInterval, c.Interval)
	case c.HeartbeatTTL < time.Second || c.HeartbeatTTL < 2*c.Interval:
		return c, fmt.Errorf("heartbeat ttl %v: must be at least 1s and two intervals", c.HeartbeatTTL)
	case c.CapacityCPUs < 0 || c.CapacityMemMB < 0:
		return c, errors.New("capacity override: must not be negative")
	case c.SecretFile != "" && c.Principal == "":
		return c, errors.New("principal: must be set with a secret file")
	}
	if (c.SLOProbeURL != "") != (c.Policy.LatencySLOMs > 0) {
		return c, fmt.Errorf("slo probe %q with latency slo %v ms: set both or neither", c.SLOProbeURL, c.Policy.LatencySLOMs)
	}
	if c.SLOProbeURL != "" {
		u, err := url.Parse(c.SLOProbeURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("slo probe %q: must be an http or https URL", c.SLOProbeURL)
		}
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return c, fmt.Errorf("listen %q: %w", c.Listen, err)
		}
	}
	if err := c.Policy.Validate(); err != nil {
		return c, fmt.Errorf("policy: %w", err)
	}
	return c, nil
}

func readSecret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	s := strings.TrimRight(string(b), " \t\r\n")
	if s == "" {
		return "", fmt.Errorf("secret file %s: empty", path)
	}
	return s, nil
}
