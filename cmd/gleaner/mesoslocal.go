package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/test/localmesos"
)

func init() {
	register(&cli.Command{
		Name:  "mesos-local",
		Usage: "run a local Mesos master and agents speaking the Mesos v1 HTTP APIs",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ip", Value: "127.0.0.1", Usage: "IP address the master and agents listen on"},
			&cli.IntFlag{Name: "port", Value: 5050, Usage: "master port (0 picks a free one)"},
			&cli.IntFlag{Name: "agents", Value: 1, Usage: "number of agents"},
			&cli.StringFlag{Name: "resources", Value: localmesos.DefaultResources, Usage: "agent resources, agent-flag syntax"},
			&cli.StringFlag{Name: "attributes", Usage: `agent attributes, agent-flag syntax ("rack:r1;zone:a")`},
			&cli.StringFlag{Name: "work-dir", Usage: "directory for agent sandboxes (default: a temporary directory)"},
			&cli.StringFlag{Name: "hostnames", Usage: "comma-separated agent hostnames (default local-agent-1..N)"},
			&cli.BoolFlag{Name: "simulated", Usage: "simulate tasks without processes"},
			&cli.DurationFlag{Name: "allocation-interval", Value: time.Second, Usage: "offer allocation period"},
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "log level on stderr: debug, info, warn, error"},
			&cli.StringFlag{Name: "control-listen", Usage: "loopback address of an unauthenticated fault-injection endpoint for tests " +
				"(POST /agents/N/restart, /agents/N/kill, /restart); off by default"},
		},
		Action: runMesosLocal,
	})
}

func runMesosLocal(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("mesos-local: unexpected arguments %q", c.Args().Slice())
	}
	cfg, err := mesosLocalConfig(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cl, err := localmesos.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("mesos-local: %w", err)
	}
	defer cl.Close()
	w := c.App.Writer
	fmt.Fprintf(w, "master: %s\n", cl.MasterURL())
	if addr := c.String("control-listen"); addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("mesos-local: --control-listen: %w", err)
		}
		srv := &http.Server{Handler: localmesos.ControlHandler(cl), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		fmt.Fprintf(w, "control: http://%s\n", l.Addr())
	}
	if d := cl.WorkDir(); d != "" {
		fmt.Fprintf(w, "work dir: %s\n", d)
	}
	for i, a := range cl.Agents() {
		ep := a.Endpoint()
		if ep == "" {
			ep = "(simulated, no HTTP endpoint)"
		}
		fmt.Fprintf(w, "agent %d: %s %s id=%s\n", i+1, a.Hostname(), ep, a.ID().Value)
	}
	<-ctx.Done()
	fmt.Fprintln(w, "mesos-local: shutting down")
	return nil
}

// mesosLocalConfig turns flags into a cluster config, rejecting bad values.
func mesosLocalConfig(c *cli.Context) (localmesos.Config, error) {
	cfg := localmesos.Config{
		IP:                 c.String("ip"),
		Port:               c.Int("port"),
		Agents:             c.Int("agents"),
		Resources:          c.String("resources"),
		Attributes:         c.String("attributes"),
		WorkDir:            c.String("work-dir"),
		Simulated:          c.Bool("simulated"),
		AllocationInterval: c.Duration("allocation-interval"),
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cfg, fmt.Errorf("mesos-local: --log-level: %w", err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
	if cfg.Agents < 1 {
		return cfg, fmt.Errorf("mesos-local: --agents must be at least 1, got %d", cfg.Agents)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("mesos-local: --port must be within 0-65535, got %d", cfg.Port)
	}
	if cfg.AllocationInterval <= 0 {
		return cfg, fmt.Errorf("mesos-local: --allocation-interval must be positive, got %s", cfg.AllocationInterval)
	}
	if addr := c.String("control-listen"); addr != "" {
		if err := checkLoopback(addr); err != nil {
			return cfg, fmt.Errorf("mesos-local: --control-listen: %w", err)
		}
	}
	if h := strings.TrimSpace(c.String("hostnames")); h != "" {
		for _, name := range strings.Split(h, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				return cfg, fmt.Errorf("mesos-local: --hostnames has an empty name")
			}
			cfg.Hostnames = append(cfg.Hostnames, name)
		}
		if len(cfg.Hostnames) != cfg.Agents {
			return cfg, fmt.Errorf("mesos-local: --hostnames lists %d names for %d agents", len(cfg.Hostnames), cfg.Agents)
		}
	}
	return cfg, nil
}

// checkLoopback accepts host:port addresses whose host is a loopback IP or
// localhost: the control endpoint has no authentication.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (the endpoint is unauthenticated)", addr)
	}
	return nil
}
