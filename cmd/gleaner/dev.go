package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/events"
	"github.com/gleaner-project/gleaner/scheduler/framework"
	"github.com/gleaner-project/gleaner/scheduler/metrics"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

func init() {
	register(&cli.Command{
		Name:  "dev",
		Usage: "run embedded etcd, a local Mesos (3 agents) and the scheduler in one process",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8470", Usage: "address of the HTTP API"},
			&cli.IntFlag{Name: "agents", Value: 3, Usage: "number of local agents"},
			&cli.StringFlag{Name: "resources", Value: localmesos.DefaultResources, Usage: "resources of each agent (agent-flag syntax)"},
			&cli.StringFlag{Name: "attributes", Usage: `attributes of each agent, agent-flag syntax ("rack:r1;zone:a")`},
			agentSpecFlag(),
			&cli.StringFlag{Name: "control-listen", Usage: "loopback address of the local Mesos' unauthenticated fault-injection endpoint " +
				"(gleaner mesos-local agent restart|kill NAME --control URL); off by default"},
			&cli.StringFlag{Name: "data-dir", Usage: "directory for etcd data and sandboxes (default: a temporary directory)"},
			&cli.BoolFlag{Name: "simulated", Usage: "simulate tasks without processes"},
			&cli.StringFlag{Name: "executor-path", Usage: "run tasks with `<path> executor` (default: this gleaner binary)"},
			&cli.BoolFlag{Name: "command-executor", Usage: "run tasks under Mesos' command executor, without Gleaner's isolation (specs using bundle, volumes or cleanup are refused)"},
			&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
			&cli.BoolFlag{Name: "no-monitors", Usage: "run no monitor beside the local agents"},
			pprofFlag(),
			webhooksFlag(),
			artifactStoreFlags()[0], artifactStoreFlags()[1],
			&cli.StringFlag{Name: "token-out", Value: auth.DefaultClientTokenFile(), Usage: "where to write the admin token (mode 0600) for the CLI, which reads it there by default"},
		},
		Action: runDev,
	})
}

// devExecutorPath is the executor `gleaner dev` launches tasks with: the
// given path, else this binary (`gleaner executor`); "" only for the command
// executor, asked for explicitly.
func devExecutorPath(path string, command bool) (string, error) {
	if command {
		if path != "" {
			return "", errors.New("give --executor-path or --command-executor, not both")
		}
		return "", nil
	}
	if path != "" {
		return path, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this binary to run as the executor (or give --executor-path): %w", err)
	}
	return self, nil
}

func runDev(c *cli.Context) error {
	level := slog.LevelInfo
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	dir := c.String("data-dir")
	if dir == "" {
		d, err := os.MkdirTemp("", "gleaner-dev-")
		if err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	executorPath, err := devExecutorPath(c.String("executor-path"), c.Bool("command-executor"))
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	artifactStore, err := devArtifactStore(c, dir, executorPath) // artifacts.go
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	mcfg := localmesos.Config{Agents: c.Int("agents"), Resources: c.String("resources"), Attributes: c.String("attributes"),
		WorkDir: dir + "/mesos", Simulated: c.Bool("simulated"), SwitchUser: true, AllocationInterval: 200 * time.Millisecond, Logger: log.With("component", "mesos")}
	if err := applyAgentFlag(c, &mcfg); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if addr := c.String("control-listen"); addr != "" {
		if err := checkLoopback(addr); err != nil {
			return fmt.Errorf("dev: --control-listen: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := servePprof(ctx, c.String("pprof-listen"), log); err != nil {
		return fmt.Errorf("dev: %w", err)
	}

	etcd, err := etcdtest.EmbeddedWith(dir, devEtcdSettings(devEtcdCompactionRetention))
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer etcd.Stop()
	// Sandboxes live below dir; tasks under the Gleaner executor run as an
	// unprivileged user and must be able to reach them (etcd keeps 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	// The agents switch to each executor's user as a Mesos agent does: under
	// --command-executor tasks run as FrameworkInfo.user (nobody), not as root.
	mesos, err := localmesos.Start(ctx, mcfg)
	if err != nil {
		return fmt.Errorf("dev: local mesos: %w", err)
	}
	defer mesos.Close()
	if addr := c.String("control-listen"); addr != "" {
		stopControl, err := serveControl(mesos, addr, c.App.Writer)
		if err != nil {
			return fmt.Errorf("dev: --control-listen: %w", err)
		}
		defer stopControl()
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints, DialTimeout: 5 * time.Second, DialOptions: metrics.EtcdDialOptions()})
	if err != nil {
		return fmt.Errorf("dev: etcd client: %w", err)
	}
	defer cli.Close()

	authc := apiAuth{StateDir: filepath.Join(dir, "state")}
	token, err := devAdminToken(ctx, cli, authc.StateDir, c.String("token-out"))
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}

	w := c.App.Writer
	fmt.Fprintf(w, "etcd:   %s\n", etcd.Endpoints[0])
	fmt.Fprintf(w, "mesos:  %s (%d agents)\n", mesos.MasterURL(), len(mesos.Agents()))
	fmt.Fprintf(w, "api:    http://%s   (export GLEANER_API=http://%s)\n", c.String("listen"), c.String("listen"))
	fmt.Fprintf(w, "data:   %s\n", dir)
	fmt.Fprintf(w, "token:  %s   (admin; written to %s, where the CLI looks by default)\n", token, c.String("token-out"))
	if !c.Bool("no-monitors") {
		// The monitors stop when the scheduler does (cancel, then wait).
		mctx, cancel := context.WithCancel(ctx)
		wait, err := devMonitors(mctx, mesos, cli, "batch", w, log.With("component", "monitor"))
		if err != nil {
			cancel()
			return fmt.Errorf("dev: %w", err)
		}
		defer wait()
		defer cancel()
	}
	nc := node.Config{
		AdvertiseURL:   "http://" + c.String("listen"),
		LeaseTTL:       5,
		ResignOnExit:   true,
		Logger:         log,
		FinishedJobTTL: node.DefaultFinishedJobTTL,
		Framework: framework.Config{
			Masters:       []string{mesos.MasterURL()},
			ExecutorPath:  executorPath,
			ArtifactStore: artifactStore,
			RefuseSeconds: time.Second,
			MinBackoff:    200 * time.Millisecond,
			MaxBackoff:    2 * time.Second,
		},
	}
	hooks, err := events.LoadWebhooks(c.String("webhooks"))
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	return serveScheduler(ctx, cli, nc, api.Config{Logger: log}, authc, c.String("listen"), hooks, log)
}

// devAdminToken makes sure the API tokens exist (created in stateDir at
// the first start on this data directory), and writes the admin token to
// out (mode 0600) for the CLI.
func devAdminToken(ctx context.Context, cli *clientv3.Client, stateDir, out string) (string, error) {
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := auth.NewStore(cli, store.DefaultPrefix).Bootstrap(bctx, stateDir); err != nil {
		return "", fmt.Errorf("API tokens: %w", err)
	}
	token, err := readTokenFile(filepath.Join(stateDir, auth.AdminTokenFile))
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if out != "" {
		if err := auth.WriteTokenFile(out, token); err != nil {
			return "", fmt.Errorf("--token-out: %w", err)
		}
	}
	return token, nil
}
