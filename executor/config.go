package executor

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/executor/config"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/rootfs"
)

// Config is the executor's configuration: the Mesos part comes from the
// MESOS_* environment the agent sets, the rest from flags.
type Config struct {
	Mesos config.Config

	// CgroupRoot is where cgroup file systems are mounted (default /sys/fs/cgroup).
	CgroupRoot string
	// CgroupParent holds every task cgroup (default "gleaner"), so a host
	// monitor can throttle all batch work at once.
	CgroupParent string
	// NoCgroups runs tasks without cgroups (development without root only).
	NoCgroups bool
	// DefaultCPUMode applies when a payload says CPU_MODE_DEFAULT.
	DefaultCPUMode gleanerpb.CPUMode
	// User runs tasks whose payload names none (default DefaultTaskUser,
	// 65534): "uid[:gid]" or a name resolved on the host, never in a bundle.
	User string
	// AllowRootTasks lets a payload that asks for uid 0 run as root (still
	// without capabilities, in its bundle only); off by default.
	AllowRootTasks bool
	// TaskUIDs gives each job's tasks a uid and gid of their own (UIDRange.ForJob)
	// when their payload names no user; zero: off, tasks run as User.
	TaskUIDs UIDRange
	// BundleCache is the host's bundle cache directory (default:
	// $GLEANER_BUNDLE_CACHE, else DefaultBundleCache); never inside the sandbox.
	BundleCache string
	// BundleLimits bound each bundle's compressed and extracted size, entries,
	// file size and paths (zero fields: rootfs.DefaultLimits).
	BundleLimits rootfs.Limits
	// BundleCacheBytes caps the bundle cache's disk space, least recently
	// used bundles no task holds evicted first (default rootfs.DefaultCacheBytes).
	BundleCacheBytes int64
	// BundleFetch bounds http(s) bundle downloads (zero fields:
	// rootfs.DefaultFetchTimeouts).
	BundleFetch rootfs.FetchTimeouts
	// Self is the binary re-executed as the task helper (default /proc/self/exe).
	Self string
	// DiskCheckInterval is how often task sandboxes are measured (default 1s).
	DiskCheckInterval time.Duration
	// LogLimitBytes caps each of stdout and stderr (default 10 MiB).
	LogLimitBytes int64
	// KillGracePeriod applies when neither KILL nor the task has a kill policy (default 3s).
	KillGracePeriod time.Duration
	// DefaultPids bounds a task's processes when the payload says 0 (default 4096).
	DefaultPids int64
	// NoPivot and NoOverlay force the plain-chroot and copy fallbacks.
	NoPivot, NoOverlay bool
	// IdleTimeout makes the executor exit once all its tasks ended, every
	// update was acknowledged and no task arrived for this long (0: never;
	// it then waits for SHUTDOWN).
	IdleTimeout time.Duration
	// HTTPTimeout bounds non-streaming calls to the agent (default 10s).
	HTTPTimeout time.Duration
	Logger      *slog.Logger
}

// FromEnv reads the Mesos part of the configuration from MESOS_* variables.
func FromEnv() (Config, error) {
	mc, err := config.FromEnv()
	if err != nil {
		return Config{}, fmt.Errorf("executor environment: %w", err)
	}
	return Config{Mesos: mc}, nil
}

func (c *Config) defaults() error {
	if c.Mesos.AgentEndpoint == "" || c.Mesos.FrameworkID == "" || c.Mesos.ExecutorID == "" {
		return errors.New("executor config: agent endpoint, framework id and executor id are required")
	}
	if c.Mesos.Directory == "" {
		return errors.New("executor config: MESOS_DIRECTORY is required")
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "gleaner"
	}
	if c.User == "" {
		c.User = DefaultTaskUser
	}
	if c.DiskCheckInterval <= 0 {
		c.DiskCheckInterval = time.Second
	}
	if c.LogLimitBytes <= 0 {
		c.LogLimitBytes = 10 << 20
	}
	if c.KillGracePeriod <= 0 {
		c.KillGracePeriod = 3 * time.Second
	}
	if c.DefaultPids <= 0 {
		c.DefaultPids = 4096
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = 10 * time.Second
	}
	if c.Mesos.ExecutorShutdownGracePeriod <= 0 {
		c.Mesos.ExecutorShutdownGracePeriod = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// ParseCPUMode reads "hard" or "shares".
func ParseCPUMode(s string) (gleanerpb.CPUMode, error) {
	switch s {
	case "hard", "hard-cap", "quota":
		return gleanerpb.CPUMode_CPU_MODE_HARD_CAP, nil
	case "shares", "soft":
		return gleanerpb.CPUMode_CPU_MODE_SHARES, nil
	}
	return 0, fmt.Errorf("--cpu-mode %q: want hard or shares", s)
}
