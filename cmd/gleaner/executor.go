package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/executor"
	"github.com/gleaner-project/gleaner/executor/cgroups"
	"github.com/gleaner-project/gleaner/executor/sandbox"
)

func init() {
	// The executor re-executes this binary with a hidden argument to set up
	// a task's mount namespace and root before exec'ing it; that helper must
	// not go through the command line parser.
	if sandbox.IsInit() {
		sandbox.Init()
	}
	register(&cli.Command{
		Name:  "executor",
		Usage: "run as Gleaner's custom Mesos executor (configured by the MESOS_* environment the agent sets)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cgroup-root", Value: cgroups.DefaultRoot, Usage: "where the cgroup file systems are mounted"},
			&cli.StringFlag{Name: "cgroup-parent", Value: "gleaner", Usage: "parent cgroup of every task (the monitor throttles it as a whole)"},
			&cli.StringFlag{Name: "cpu-mode", Value: "hard", Usage: "default CPU limit: hard (CFS quota = cpus × period) or shares"},
			&cli.StringFlag{Name: "user", Value: "nobody", Usage: "user tasks run as unless their payload names one"},
			&cli.StringFlag{Name: "bundle-cache", Usage: "host directory caching extracted bundles by digest (default: inside the sandbox)"},
			&cli.DurationFlag{Name: "disk-check-interval", Value: time.Second, Usage: "how often task sandboxes are measured against their disk quota"},
			&cli.Int64Flag{Name: "log-limit", Value: 10 << 20, Usage: "bytes of stdout and of stderr kept per task unless the payload says otherwise"},
			&cli.DurationFlag{Name: "kill-grace", Value: 3 * time.Second, Usage: "SIGTERM→SIGKILL grace when no kill policy says otherwise"},
			&cli.BoolFlag{Name: "no-cgroups", Usage: "run tasks without cgroups (development without root only)"},
			&cli.BoolFlag{Name: "no-pivot", Usage: "use plain chroot instead of pivot_root"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := executor.FromEnv()
			if err != nil {
				return err
			}
			mode, err := executor.ParseCPUMode(c.String("cpu-mode"))
			if err != nil {
				return err
			}
			cfg.CgroupRoot = c.String("cgroup-root")
			cfg.CgroupParent = c.String("cgroup-parent")
			cfg.DefaultCPUMode = mode
			cfg.User = c.String("user")
			cfg.BundleCache = c.String("bundle-cache")
			cfg.DiskCheckInterval = c.Duration("disk-check-interval")
			cfg.LogLimitBytes = c.Int64("log-limit")
			cfg.KillGracePeriod = c.Duration("kill-grace")
			cfg.NoCgroups = c.Bool("no-cgroups")
			cfg.NoPivot = c.Bool("no-pivot")
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			e, err := executor.New(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return e.Run(ctx)
		},
	})
}
