package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/executor"
	"github.com/gleaner-project/gleaner/executor/sandbox"
)

func init() {
	// The executor re-executes this binary with a hidden argument to set up
	// a task's mount namespace and root before exec'ing it; that helper must
	// not go through the command line parser.
	if sandbox.IsInit() {
		sandbox.Init()
	}
	d := executor.DefaultFlags()
	u := executor.FlagUsage
	register(&cli.Command{
		Name:  "executor",
		Usage: "run as Gleaner's custom Mesos executor (configured by the MESOS_* environment the agent sets)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cgroup-root", Value: d.CgroupRoot, Usage: u["cgroup-root"]},
			&cli.StringFlag{Name: "cgroup-parent", Value: d.CgroupParent, Usage: u["cgroup-parent"]},
			&cli.StringFlag{Name: "cpu-mode", Value: d.CPUMode, Usage: u["cpu-mode"]},
			&cli.StringFlag{Name: "user", Value: d.User, Usage: u["user"]},
			&cli.StringFlag{Name: "bundle-cache", Usage: u["bundle-cache"]},
			&cli.DurationFlag{Name: "disk-check-interval", Value: d.DiskCheckInterval, Usage: u["disk-check-interval"]},
			&cli.Int64Flag{Name: "log-limit", Value: d.LogLimit, Usage: u["log-limit"]},
			&cli.DurationFlag{Name: "kill-grace", Value: d.KillGrace, Usage: u["kill-grace"]},
			&cli.DurationFlag{Name: "idle-timeout", Value: d.IdleTimeout, Usage: u["idle-timeout"]},
			&cli.BoolFlag{Name: "no-cgroups", Usage: u["no-cgroups"]},
			&cli.BoolFlag{Name: "no-pivot", Usage: u["no-pivot"]},
			&cli.BoolFlag{Name: "allow-root-tasks", Usage: u["allow-root-tasks"]},
			&cli.Int64Flag{Name: "bundle-max-compressed", Value: d.BundleMaxCompressed, Usage: u["bundle-max-compressed"]},
			&cli.Int64Flag{Name: "bundle-max-extracted", Value: d.BundleMaxExtracted, Usage: u["bundle-max-extracted"]},
			&cli.Int64Flag{Name: "bundle-max-entries", Value: d.BundleMaxEntries, Usage: u["bundle-max-entries"]},
			&cli.Int64Flag{Name: "bundle-max-file", Value: d.BundleMaxFile, Usage: u["bundle-max-file"]},
			&cli.Int64Flag{Name: "bundle-cache-max", Value: d.BundleCacheMax, Usage: u["bundle-cache-max"]},
			&cli.StringFlag{Name: "task-uid-range", Usage: u["task-uid-range"]},
			&cli.DurationFlag{Name: "bundle-fetch-connect-timeout", Value: d.BundleFetchConnect, Usage: u["bundle-fetch-connect-timeout"]},
			&cli.DurationFlag{Name: "bundle-fetch-header-timeout", Value: d.BundleFetchHeader, Usage: u["bundle-fetch-header-timeout"]},
			&cli.DurationFlag{Name: "bundle-fetch-stall", Value: d.BundleFetchStall, Usage: u["bundle-fetch-stall"]},
			&cli.DurationFlag{Name: "bundle-fetch-timeout", Value: d.BundleFetchTimeout, Usage: u["bundle-fetch-timeout"]},
		},
		Action: func(c *cli.Context) error {
			cfg, err := executor.FromEnv()
			if err != nil {
				return err
			}
			f := executor.Flags{
				CgroupRoot: c.String("cgroup-root"), CgroupParent: c.String("cgroup-parent"), CPUMode: c.String("cpu-mode"),
				User: c.String("user"), BundleCache: c.String("bundle-cache"), DiskCheckInterval: c.Duration("disk-check-interval"),
				LogLimit: c.Int64("log-limit"), KillGrace: c.Duration("kill-grace"), IdleTimeout: c.Duration("idle-timeout"),
				NoCgroups: c.Bool("no-cgroups"), NoPivot: c.Bool("no-pivot"), AllowRootTasks: c.Bool("allow-root-tasks"),
				BundleMaxCompressed: c.Int64("bundle-max-compressed"), BundleMaxExtracted: c.Int64("bundle-max-extracted"),
				BundleMaxEntries: c.Int64("bundle-max-entries"), BundleMaxFile: c.Int64("bundle-max-file"), BundleCacheMax: c.Int64("bundle-cache-max"),
				TaskUIDRange: c.String("task-uid-range"), BundleFetchConnect: c.Duration("bundle-fetch-connect-timeout"),
				BundleFetchHeader: c.Duration("bundle-fetch-header-timeout"), BundleFetchStall: c.Duration("bundle-fetch-stall"),
				BundleFetchTimeout: c.Duration("bundle-fetch-timeout"),
			}
			if err := f.Apply(&cfg); err != nil {
				return err
			}
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
