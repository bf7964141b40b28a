package executor

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/gleaner-project/gleaner/executor/cgroups"
	"github.com/gleaner-project/gleaner/rootfs"
)

// Flags are the executor's command-line settings (shared by `gleaner
// executor` and the slim gleaner-executor binary).
type Flags struct {
	CgroupRoot, CgroupParent, CPUMode, User, BundleCache string
	// TaskUIDRange: "FIRST-LAST" or "off"; empty takes $GLEANER_TASK_UID_RANGE,
	// else DefaultTaskUIDRange.
	TaskUIDRange                              string
	DiskCheckInterval, KillGrace, IdleTimeout time.Duration
	LogLimit                                  int64
	// Bundle limits (bytes, except entries) and the bundle cache's cap.
	BundleMaxCompressed, BundleMaxExtracted, BundleMaxEntries, BundleMaxFile, BundleCacheMax int64
	// Bounds of an http(s) bundle download.
	BundleFetchConnect, BundleFetchHeader, BundleFetchStall, BundleFetchTimeout time.Duration
	NoCgroups, NoPivot, AllowRootTasks                                          bool
}

// DefaultFlags are the flag defaults.
func DefaultFlags() Flags {
	return Flags{CgroupRoot: cgroups.DefaultRoot, CgroupParent: "gleaner", CPUMode: "hard", User: DefaultTaskUser,
		DiskCheckInterval: time.Second, KillGrace: 3 * time.Second, IdleTimeout: 5 * time.Second, LogLimit: 10 << 20,
		BundleMaxCompressed: rootfs.DefaultLimits.CompressedBytes, BundleMaxExtracted: rootfs.DefaultLimits.ExtractedBytes,
		BundleMaxEntries: rootfs.DefaultLimits.Entries, BundleMaxFile: rootfs.DefaultLimits.FileBytes,
		BundleCacheMax:     rootfs.DefaultCacheBytes,
		BundleFetchConnect: rootfs.DefaultFetchTimeouts.Connect, BundleFetchHeader: rootfs.DefaultFetchTimeouts.Header,
		BundleFetchStall: rootfs.DefaultFetchTimeouts.Stall, BundleFetchTimeout: rootfs.DefaultFetchTimeouts.Total}
}

// BundleLimitFlags names the flag that sets each bundle limit, for errors.
var BundleLimitFlags = map[string]string{
	rootfs.LimitCompressedBytes: "bundle-max-compressed",
	rootfs.LimitExtractedBytes:  "bundle-max-extracted",
	rootfs.LimitEntries:         "bundle-max-entries",
	rootfs.LimitFileBytes:       "bundle-max-file",
	rootfs.LimitCacheBytes:      "bundle-cache-max",
}

// BundleFetchFlags names the flag that sets each bundle download timeout, for errors.
var BundleFetchFlags = map[string]string{
	rootfs.FetchConnect: "bundle-fetch-connect-timeout",
	rootfs.FetchHeader:  "bundle-fetch-header-timeout",
	rootfs.FetchStall:   "bundle-fetch-stall",
	rootfs.FetchTotal:   "bundle-fetch-timeout",
}

// FlagUsage documents each flag.
var FlagUsage = map[string]string{
	"cgroup-root":                  "where the cgroup file systems are mounted",
	"cgroup-parent":                "parent cgroup of every task (the monitor throttles it as a whole)",
	"cpu-mode":                     "default CPU limit: hard (CFS quota = cpus × period) or shares",
	"user":                         "user tasks run as unless their payload names one: uid[:gid] or a name in the host's /etc/passwd (never the bundle's)",
	"task-uid-range":               "uids FIRST-LAST each job's tasks get one of (uid = gid, hashed from the job id) unless their payload names a user; off: every task runs as --user (default: $" + TaskUIDRangeEnv + ", else " + DefaultTaskUIDRange + ")",
	"allow-root-tasks":             "let tasks whose payload asks for uid 0 run as root in their bundle (without capabilities); also $" + AllowRootTasksEnv,
	"bundle-cache":                 "host directory caching extracted bundles by digest (default: $GLEANER_BUNDLE_CACHE, else " + DefaultBundleCache + ", made 0700; never inside the sandbox)",
	"disk-check-interval":          "how often task sandboxes are measured against their disk quota",
	"log-limit":                    "bytes of stdout and of stderr kept per task unless the payload says otherwise",
	"kill-grace":                   "SIGTERM→SIGKILL grace when no kill policy says otherwise",
	"idle-timeout":                 "exit this long after the last task ended and its updates were acknowledged (0: wait for SHUTDOWN)",
	"no-cgroups":                   "run tasks without cgroups (development without root only)",
	"no-pivot":                     "use plain chroot instead of pivot_root",
	"bundle-max-compressed":        "bytes a bundle file may have (it is hashed before anything is extracted)",
	"bundle-max-extracted":         "bytes of regular files a bundle may extract to",
	"bundle-max-entries":           "tar entries a bundle may hold",
	"bundle-max-file":              "bytes a single file of a bundle may have",
	"bundle-cache-max":             "bytes the bundle cache may take; least recently used bundles no task holds are evicted",
	"bundle-fetch-connect-timeout": "bound on connecting (TCP and TLS) to an http(s) bundle uri",
	"bundle-fetch-header-timeout":  "bound on the wait for an http(s) bundle server's response headers",
	"bundle-fetch-stall":           "an http(s) bundle download that delivers no byte for this long fails",
	"bundle-fetch-timeout":         "bound on a whole http(s) bundle download",
}

// BindFlags registers the flags on a standard flag set.
func BindFlags(fs *flag.FlagSet) *Flags {
	f := DefaultFlags()
	fs.StringVar(&f.CgroupRoot, "cgroup-root", f.CgroupRoot, FlagUsage["cgroup-root"])
	fs.StringVar(&f.CgroupParent, "cgroup-parent", f.CgroupParent, FlagUsage["cgroup-parent"])
	fs.StringVar(&f.CPUMode, "cpu-mode", f.CPUMode, FlagUsage["cpu-mode"])
	fs.StringVar(&f.User, "user", f.User, FlagUsage["user"])
	fs.StringVar(&f.BundleCache, "bundle-cache", f.BundleCache, FlagUsage["bundle-cache"])
	fs.DurationVar(&f.DiskCheckInterval, "disk-check-interval", f.DiskCheckInterval, FlagUsage["disk-check-interval"])
	fs.Int64Var(&f.LogLimit, "log-limit", f.LogLimit, FlagUsage["log-limit"])
	fs.DurationVar(&f.KillGrace, "kill-grace", f.KillGrace, FlagUsage["kill-grace"])
	fs.DurationVar(&f.IdleTimeout, "idle-timeout", f.IdleTimeout, FlagUsage["idle-timeout"])
	fs.BoolVar(&f.NoCgroups, "no-cgroups", f.NoCgroups, FlagUsage["no-cgroups"])
	fs.BoolVar(&f.NoPivot, "no-pivot", f.NoPivot, FlagUsage["no-pivot"])
	fs.StringVar(&f.TaskUIDRange, "task-uid-range", f.TaskUIDRange, FlagUsage["task-uid-range"])
	fs.BoolVar(&f.AllowRootTasks, "allow-root-tasks", f.AllowRootTasks, FlagUsage["allow-root-tasks"])
	fs.Int64Var(&f.BundleMaxCompressed, "bundle-max-compressed", f.BundleMaxCompressed, FlagUsage["bundle-max-compressed"])
	fs.Int64Var(&f.BundleMaxExtracted, "bundle-max-extracted", f.BundleMaxExtracted, FlagUsage["bundle-max-extracted"])
	fs.Int64Var(&f.BundleMaxEntries, "bundle-max-entries", f.BundleMaxEntries, FlagUsage["bundle-max-entries"])
	fs.Int64Var(&f.BundleMaxFile, "bundle-max-file", f.BundleMaxFile, FlagUsage["bundle-max-file"])
	fs.Int64Var(&f.BundleCacheMax, "bundle-cache-max", f.BundleCacheMax, FlagUsage["bundle-cache-max"])
	fs.DurationVar(&f.BundleFetchConnect, "bundle-fetch-connect-timeout", f.BundleFetchConnect, FlagUsage["bundle-fetch-connect-timeout"])
	fs.DurationVar(&f.BundleFetchHeader, "bundle-fetch-header-timeout", f.BundleFetchHeader, FlagUsage["bundle-fetch-header-timeout"])
	fs.DurationVar(&f.BundleFetchStall, "bundle-fetch-stall", f.BundleFetchStall, FlagUsage["bundle-fetch-stall"])
	fs.DurationVar(&f.BundleFetchTimeout, "bundle-fetch-timeout", f.BundleFetchTimeout, FlagUsage["bundle-fetch-timeout"])
	return &f
}

// Apply copies the flags into a configuration.
func (f *Flags) Apply(cfg *Config) error {
	mode, err := ParseCPUMode(f.CPUMode)
	if err != nil {
		return err
	}
	cfg.CgroupRoot, cfg.CgroupParent, cfg.DefaultCPUMode = f.CgroupRoot, f.CgroupParent, mode
	cfg.User, cfg.BundleCache = f.User, f.BundleCache
	cfg.DiskCheckInterval, cfg.LogLimitBytes, cfg.KillGracePeriod = f.DiskCheckInterval, f.LogLimit, f.KillGrace
	cfg.NoCgroups, cfg.NoPivot, cfg.IdleTimeout = f.NoCgroups, f.NoPivot, f.IdleTimeout
	cfg.AllowRootTasks = f.AllowRootTasks
	if v := os.Getenv(AllowRootTasksEnv); v != "" {
		allow, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("$%s %q: want true or false", AllowRootTasksEnv, v)
		}
		cfg.AllowRootTasks = cfg.AllowRootTasks || allow
	}
	uids := f.TaskUIDRange
	if uids == "" {
		uids = os.Getenv(TaskUIDRangeEnv)
	}
	if uids == "" {
		uids = DefaultTaskUIDRange
	}
	if cfg.TaskUIDs, err = ParseUIDRange(uids); err != nil {
		return fmt.Errorf("--task-uid-range: %w", err)
	}
	for _, l := range []struct {
		flag string
		v    int64
	}{{"bundle-max-compressed", f.BundleMaxCompressed}, {"bundle-max-extracted", f.BundleMaxExtracted},
		{"bundle-max-entries", f.BundleMaxEntries}, {"bundle-max-file", f.BundleMaxFile}, {"bundle-cache-max", f.BundleCacheMax}} {
		if l.v < 0 {
			return fmt.Errorf("--%s %d: must not be negative (0 takes the default)", l.flag, l.v)
		}
	}
	cfg.BundleLimits = rootfs.Limits{CompressedBytes: f.BundleMaxCompressed, ExtractedBytes: f.BundleMaxExtracted,
		Entries: f.BundleMaxEntries, FileBytes: f.BundleMaxFile}
	cfg.BundleCacheBytes = f.BundleCacheMax
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"bundle-fetch-connect-timeout", f.BundleFetchConnect}, {"bundle-fetch-header-timeout", f.BundleFetchHeader},
		{"bundle-fetch-stall", f.BundleFetchStall}, {"bundle-fetch-timeout", f.BundleFetchTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("--%s %v: must not be negative (0 takes the default)", d.flag, d.v)
		}
	}
	cfg.BundleFetch = rootfs.FetchTimeouts{Connect: f.BundleFetchConnect, Header: f.BundleFetchHeader,
		Stall: f.BundleFetchStall, Total: f.BundleFetchTimeout}
	return nil
}
