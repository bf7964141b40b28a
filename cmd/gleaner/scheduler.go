package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/events"
	"github.com/gleaner-project/gleaner/scheduler/framework"
	"github.com/gleaner-project/gleaner/scheduler/harvest"
	"github.com/gleaner-project/gleaner/scheduler/isolation"
	"github.com/gleaner-project/gleaner/scheduler/metrics"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/scheduler/ui"
)

func init() {
	register(&cli.Command{
		Name:   "scheduler",
		Usage:  "run the Gleaner Mesos framework and its job API (several may run; one leads through etcd)",
		Flags:  schedulerFlags(),
		Action: runScheduler,
	})
}

func schedulerFlags() []cli.Flag {
	return append(append(append(apiAuthFlags(), etcdTLSFlags()...), webhooksFlag(), artifactStoreFlags()[0], artifactStoreFlags()[1], pprofFlag(), etcdCompactFlag(), memoryLimitFlag()),
		&cli.StringSliceFlag{Name: "master", Value: cli.NewStringSlice("http://127.0.0.1:5050"), Usage: "Mesos master URL (repeat for several; the leader is found through redirects)"},
		&cli.StringSliceFlag{Name: "etcd", Value: cli.NewStringSlice("http://127.0.0.1:2379"), Usage: "etcd endpoint (repeat for several)"},
		&cli.StringFlag{Name: "etcd-prefix", Value: store.DefaultPrefix, Usage: "etcd key prefix for Gleaner's state"},
		&cli.StringSliceFlag{Name: "role", Value: cli.NewStringSlice("batch"), Usage: "Mesos role to subscribe with (repeatable; MULTI_ROLE)"},
		&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8470", Usage: "address of the HTTP API"},
		&cli.StringFlag{Name: "advertise-url", Usage: "API URL standbys redirect writes to (default http://<listen>)"},
		&cli.StringFlag{Name: "principal", Usage: "Mesos principal (HTTP basic auth with --secret-file)"},
		&cli.StringFlag{Name: "secret-file", Usage: "file holding the principal's secret"},
		&cli.StringFlag{Name: "executor-uri", Usage: "`URI` of the gleaner binary, fetched by the agents and run as 'gleaner executor' (one of --executor-path, --executor-uri, --command-executor is required)"},
		&cli.StringFlag{Name: "executor-path", Usage: "`PATH` on the agents of the gleaner or gleaner-executor binary, run as 'PATH executor'"},
		&cli.BoolFlag{Name: "command-executor", Usage: "run tasks under Mesos' command executor instead of the Gleaner executor: directly on the agent's host as --user, " +
			"without chroot, namespaces or Gleaner's cgroups; specs using bundle, volumes or cleanup are refused at submit"},
		&cli.BoolFlag{Name: "allow-root-tasks", Usage: "UNSAFE: run the tasks of jobs with user: root as uid 0, and allow --user root with --command-executor (refused without it)"},
		&cli.DurationFlag{Name: "failover-timeout", Value: 7 * 24 * time.Hour, Usage: "how long Mesos keeps tasks while no scheduler is subscribed"},
		&cli.StringFlag{Name: "user", Usage: "Unix user Mesos runs executors as (FrameworkInfo.user); default root with the Gleaner executor, " +
			"which runs each task as an unprivileged user itself; default nobody with --command-executor, where every task runs as this user"},
		&cli.StringFlag{Name: "name", Value: "gleaner", Usage: "framework name"},
		&cli.IntFlag{Name: "lease-ttl", Value: 10, Usage: "leader lease TTL in seconds"},
		&cli.DurationFlag{Name: "refuse", Value: 5 * time.Second, Usage: "refuse filter on declined offers while work is pending"},
		&cli.IntFlag{Name: "max-update-backlog", Value: framework.DefaultMaxUpdateBacklog, Usage: "status updates that may wait to be stored before offer cycles " +
			"stop launching (each launch brings about two); bounds the scheduler's memory under bursts of short tasks"},
		&cli.DurationFlag{Name: "reconcile-interval", Value: time.Minute, Usage: "period of explicit reconciliation of active tasks"},
		&cli.DurationFlag{Name: "implicit-reconcile-interval", Value: 15 * time.Minute, Usage: "period of implicit reconciliation"},
		&cli.DurationFlag{Name: "kill-grace", Value: 3 * time.Second, Usage: "grace between SIGTERM and SIGKILL when a task is killed (TaskInfo.kill_policy; negative: none)"},
		&cli.DurationFlag{Name: "finished-job-ttl", Value: node.DefaultFinishedJobTTL, Usage: "delete a finished job's records this long after it ended, unless its spec sets ttlAfterFinished (0: keep them forever, and etcd grows)"},
		&cli.DurationFlag{Name: "evict-cooldown", Value: 15 * time.Second, Usage: "how long a host whose monitor asked for an eviction gets no new work"},
		&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
		&cli.BoolFlag{Name: "require-monitor", Value: true, Usage: "place no new work on a host whose monitor heartbeat (<etcd-prefix>monitors/<hostname>) is silent; " +
			"whether required or not, a host with a live monitor gets batch work only in the resources reserved for the role, which its monitor sizes"},
		&cli.StringSliceFlag{Name: "queue-weight", Usage: "dominant-resource fairness weight of a queue, NAME=WEIGHT (repeatable; default 1)"},
		&cli.StringSliceFlag{Name: "user-weight", Usage: "dominant-resource fairness weight of a user, NAME=WEIGHT (repeatable; default 1)"},
		&cli.Float64Flag{Name: "move-rate", Value: 1, Usage: "instances moved per second at most when attribute edits break their constraints"},
		&cli.IntFlag{Name: "max-event-bytes", Value: framework.DefaultMaxEventBytes, Usage: "largest event read from the Mesos master's stream, in bytes " +
			"(1 MiB to 1 GiB); a larger one ends the subscription with an error naming this flag, and the scheduler resubscribes"},
		&cli.DurationFlag{Name: "preempt-after", Value: 5 * time.Second, Usage: "how long higher-priority work waits blocked before lower-priority instances are preempted"},
	)
}

// parseWeights reads NAME=WEIGHT flags into a map, naming the flag on error.
func parseWeights(flag string, vals []string) (map[string]float64, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := make(map[string]float64, len(vals))
	for _, v := range vals {
		name, w, ok := strings.Cut(v, "=")
		f, err := strconv.ParseFloat(w, 64)
		if !ok || name == "" || err != nil || !(f > 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("--%s %q: want NAME=WEIGHT with a positive weight", flag, v)
		}
		out[name] = f
	}
	return out, nil
}

// maxEventBytes checks --max-event-bytes: below 1 MiB a master's
// ordinary events may not fit; protobuf messages stay under 2 GiB.
func maxEventBytes(n int) (int, error) {
	if n < 1<<20 || n > 1<<30 {
		return 0, fmt.Errorf("--max-event-bytes %d: want 1048576 (1 MiB) to 1073741824 (1 GiB)", n)
	}
	return n, nil
}

// maxUpdateBacklog checks --max-update-backlog: each launch brings about
// two updates, so below 2 no offer cycle could ever launch.
func maxUpdateBacklog(n int) (int, error) {
	if n < 2 {
		return 0, fmt.Errorf("--max-update-backlog %d: want at least 2 (each launch brings two status updates)", n)
	}
	return n, nil
}

func readSecret(path, flag string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("--%s: %s is empty", flag, path)
	}
	return s, nil
}

// schedulerConfig turns flags into a node config and API config.
func schedulerConfig(c *cli.Context, log *slog.Logger) (node.Config, api.Config, error) {
	secret, err := readSecret(c.String("secret-file"), "secret-file")
	if err != nil {
		return node.Config{}, api.Config{}, err
	}
	if c.String("principal") != "" && secret == "" {
		return node.Config{}, api.Config{}, errors.New("--principal needs --secret-file")
	}
	fw, err := executorFlags(c)
	if err != nil {
		return node.Config{}, api.Config{}, err
	}
	adv := c.String("advertise-url")
	if adv == "" {
		adv = "http://" + c.String("listen")
	}
	qw, err := parseWeights("queue-weight", c.StringSlice("queue-weight"))
	if err != nil {
		return node.Config{}, api.Config{}, err
	}
	uw, err := parseWeights("user-weight", c.StringSlice("user-weight"))
	if err != nil {
		return node.Config{}, api.Config{}, err
	}
	maxEvent, err := maxEventBytes(c.Int("max-event-bytes"))
	if err != nil {
		return node.Config{}, api.Config{}, err
	}
	backlog, err := maxUpdateBacklog(c.Int("max-update-backlog"))
	if err != nil {
		return node.Config{}, api.Config{}, err
	}
	host, _ := os.Hostname()
	nc := node.Config{
		Fair:           placement.FairConfig{QueueWeights: qw, UserWeights: uw},
		Prefix:         c.String("etcd-prefix"),
		AdvertiseURL:   adv,
		LeaseTTL:       c.Int("lease-ttl"),
		ResignOnExit:   true,
		Logger:         log,
		EvictCooldown:  c.Duration("evict-cooldown"),
		FinishedJobTTL: c.Duration("finished-job-ttl"),
		Framework: framework.Config{
			Masters:                   c.StringSlice("master"),
			Name:                      c.String("name"),
			User:                      fw.User,
			Roles:                     c.StringSlice("role"),
			Principal:                 c.String("principal"),
			Secret:                    secret,
			FailoverTimeout:           c.Duration("failover-timeout"),
			Hostname:                  host,
			WebUIURL:                  adv,
			ExecutorURI:               fw.ExecutorURI,
			ExecutorPath:              fw.ExecutorPath,
			AllowRootTasks:            fw.AllowRootTasks,
			ArtifactStore:             fw.ArtifactStore,
			RefuseSeconds:             c.Duration("refuse"),
			MaxUpdateBacklog:          backlog,
			ReconcileInterval:         c.Duration("reconcile-interval"),
			ImplicitReconcileInterval: c.Duration("implicit-reconcile-interval"),
			KillGracePeriod:           c.Duration("kill-grace"),
			RequireMonitor:            c.Bool("require-monitor"),
			MoveRate:                  c.Float64("move-rate"),
			PreemptAfter:              c.Duration("preempt-after"),
			MaxEventBytes:             maxEvent,
		},
	}
	return nc, api.Config{Logger: log}, nil
}

// executorFlags reads the executor and user flags, failing closed: an
// executor must be chosen, and tasks run as root only with --allow-root-tasks.
func executorFlags(c *cli.Context) (framework.Config, error) {
	command, err := isolation.ChooseExecutor(c.String("executor-path"), c.String("executor-uri"), c.Bool("command-executor"))
	if err != nil {
		return framework.Config{}, err
	}
	policy := isolation.Policy{CommandExecutor: command, AllowRootTasks: c.Bool("allow-root-tasks")}
	user, err := policy.FrameworkUser(c.String("user"))
	if err != nil {
		return framework.Config{}, err
	}
	store, err := artifactStoreConfig(c, "")
	if err != nil {
		return framework.Config{}, err
	}
	return framework.Config{ExecutorPath: c.String("executor-path"), ExecutorURI: c.String("executor-uri"),
		User: user, AllowRootTasks: policy.AllowRootTasks, ArtifactStore: store}, nil
}

func runScheduler(c *cli.Context) error {
	level := slog.LevelInfo
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	nc, ac, err := schedulerConfig(c, log)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	authc, err := apiAuthConfig(c)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	if p := nc.Framework.Isolation(); p.CommandExecutor || p.AllowRootTasks {
		log.Warn("tasks are not fully isolated", "command-executor", p.CommandExecutor, "user", nc.Framework.User, "allow-root-tasks", p.AllowRootTasks)
	}
	if err := applyMemoryLimit(c, log); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := servePprof(ctx, c.String("pprof-listen"), log); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	ec, err := etcdConfig(c, c.StringSlice("etcd"))
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	ec.DialOptions = append(ec.DialOptions, metrics.EtcdDialOptions()...) // gleaner_etcd_grpc_client_* latency
	cli, err := clientv3.New(ec)
	if err != nil {
		return fmt.Errorf("scheduler: etcd: %w", err)
	}
	defer cli.Close()
	hooks, err := events.LoadWebhooks(c.String("webhooks"))
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	every := c.Duration("etcd-compact-every")
	checkEtcdCompaction(ctx, cli, every > 0, log)
	return serveScheduler(ctx, cli, nc, ac, authc, c.String("listen"), hooks, log, func(ctx context.Context, n *node.Node) {
		go compactLoop(ctx, cli, every, n.IsLeader, log)
	})
}

// serveScheduler runs a node and its API until ctx ends (shared with `gleaner dev`).
// Each of also starts with the node (e.g. the leader's etcd compaction).
func serveScheduler(ctx context.Context, cli *clientv3.Client, nc node.Config, ac api.Config, authc apiAuth, listen string, hooks []events.Webhook, log *slog.Logger,
	also ...func(context.Context, *node.Node)) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("scheduler: listen: %w", err)
	}
	defer l.Close()
	n := node.New(nc, cli)
	for _, start := range also {
		start(ctx, n)
	}
	// The node's state metrics and leader changes; a second node in one
	// process (tests) runs without them rather than not at all.
	if unregister, err := metrics.RegisterNode(ctx, prometheus.DefaultRegisterer, n, metrics.StateConfig{}); err != nil {
		log.Warn("no state metrics for this node", "err", err)
	} else {
		defer unregister()
	}
	guard, err := authc.guard(ctx, cli, n.Attrs().Prefix(), log)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	ac.Auth = guard
	agents := attrs.NewHandler(attrs.HandlerConfig{Store: n.Attrs(), Source: n, Log: log})
	ac.Mount = map[string]http.Handler{"/v1/agents": agents, "/v1/agents/": agents}
	tokens := auth.TokensHandler(auth.NewStore(cli, n.Attrs().Prefix()), nil)
	ac.Mount["/v1/tokens"], ac.Mount["/v1/tokens/"] = tokens, tokens
	// The web UI (static files at /ui/) and the harvest history it charts,
	// kept by every scheduler from the monitors' heartbeats.
	harvested := harvest.New(harvest.Limits{})
	go (&harvest.Poller{Client: cli, Prefix: n.Attrs().Prefix(), History: harvested, Log: log}).Run(ctx)
	ac.Mount["/v1/harvest"] = harvest.Handler(harvested, 0)
	ac.UI = ui.Handler("/ui/")
	if st := nc.Framework.ArtifactStore; st != nil {
		ac.ArtifactStoreURL = st.Url // never holds credentials (artifacts.ParseURL)
	}
	mountTemplatesAndEvents(ctx, cli, n, &ac, hooks, log)
	srv := api.NewServer(n, ac)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("api server", "err", err)
		}
	}()
	log.Info("gleaner scheduler", "api", "http://"+l.Addr().String(), "masters", nc.Framework.Masters, "roles", nc.Framework.Roles)
	err = n.Run(ctx) // on SIGTERM: resigns so a standby leads at once
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return err
}
