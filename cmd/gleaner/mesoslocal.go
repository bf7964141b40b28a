package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/test/localmesos"
	"github.com/gleaner-project/gleaner/test/localmesos/master"
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
			&cli.StringFlag{Name: "work-dir", Usage: "directory for agent sandboxes (default: a temporary directory, removed on exit)"},
			&cli.StringFlag{Name: "hostnames", Usage: "comma-separated agent hostnames (default local-agent-1..N)"},
			&cli.BoolFlag{Name: "simulated", Usage: "simulate tasks without processes"},
			&cli.DurationFlag{Name: "allocation-interval", Value: time.Second, Usage: "offer allocation period"},
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "log level on stderr: debug, info, warn, error"},
			agentSpecFlag(),
			&cli.IntFlag{Name: "max_completed_tasks_per_framework", Value: master.DefaultMaxCompletedTasksPerFramework,
				Usage: "completed tasks the master keeps per framework, as the Mesos master flag"},
			&cli.IntFlag{Name: "max_completed_frameworks", Value: master.DefaultMaxCompletedFrameworks,
				Usage: "completed frameworks the master keeps, as the Mesos master flag"},
			&cli.StringFlag{Name: "control-listen", Usage: "loopback address of an unauthenticated fault-injection endpoint for tests " +
				"(GET /agents; POST /agents/N|HOST/restart, /agents/N|HOST/kill, /restart); off by default"},
			pprofFlag(),
		},
		Action: runMesosLocal,
		Subcommands: []*cli.Command{{
			Name:  "agent",
			Usage: "list, restart or kill one agent of a running mesos-local (through its --control-listen endpoint)",
			Subcommands: []*cli.Command{
				{Name: "list", Usage: "list the agents", ArgsUsage: " ", Flags: controlFlags(), Action: mesosLocalAgentList},
				{Name: "restart", Usage: "restart agent NAME (hostname or number); it re-registers with its ID and tasks",
					ArgsUsage: "NAME", Flags: controlFlags(), Action: mesosLocalAgentAction("restart")},
				{Name: "kill", Usage: "kill agent NAME (hostname or number) as a dead host: its tasks become unreachable",
					ArgsUsage: "NAME", Flags: controlFlags(), Action: mesosLocalAgentAction("kill")},
			},
		}},
	})
}

// agentSpecFlag is the repeated --agent flag of mesos-local and dev. Its
// value holds ',' and ';', so it is not a string slice (which splits at ',').
func agentSpecFlag() cli.Flag {
	return agentFlag{&cli.GenericFlag{Name: "agent", Value: &agentSpecs{},
		Usage: "one agent's own settings, repeated for agents 1, 2, ...: 'name=h1;attributes=rack:r1,zone:a;resources=cpus:4;mem:4096' " +
			"(name required; missing parts keep --attributes/--resources; --agents may add more agents with the defaults)"}}
}

// agentFlag gives every parse a fresh agentSpecs: the flag is built once
// at registration, and a GenericFlag would otherwise keep the values of an
// earlier run of the app (as in tests).
type agentFlag struct{ *cli.GenericFlag }

func (f agentFlag) Apply(set *flag.FlagSet) error {
	f.GenericFlag.Value = &agentSpecs{}
	return f.GenericFlag.Apply(set)
}

// agentSpecs collects --agent values, each checked as it is given.
type agentSpecs struct{ specs []localmesos.AgentSpec }

func (a *agentSpecs) Set(v string) error {
	spec, err := localmesos.ParseAgentSpec(v)
	if err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	a.specs = append(a.specs, spec)
	return nil
}

func (a *agentSpecs) String() string {
	if a == nil {
		return ""
	}
	var names []string
	for _, s := range a.specs {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// applyAgentFlag applies the --agent values of c to cfg; --agents counts
// only when given explicitly.
func applyAgentFlag(c *cli.Context, cfg *localmesos.Config) error {
	v, _ := c.Generic("agent").(*agentSpecs)
	if v == nil || len(v.specs) == 0 {
		return nil
	}
	if c.IsSet("agents") && c.Int("agents") < len(v.specs) {
		return fmt.Errorf("--agents %d is fewer than the %d --agent flags", c.Int("agents"), len(v.specs))
	}
	if !c.IsSet("agents") {
		cfg.Agents = len(v.specs)
	}
	if err := localmesos.ApplyAgentSpecs(cfg, v.specs); err != nil {
		return fmt.Errorf("--agent: %w", err)
	}
	return nil
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
	if err := servePprof(ctx, c.String("pprof-listen"), cfg.Logger); err != nil {
		return fmt.Errorf("mesos-local: %w", err)
	}
	cl, err := localmesos.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("mesos-local: %w", err)
	}
	defer cl.Close()
	w := c.App.Writer
	fmt.Fprintf(w, "master: %s\n", cl.MasterURL())
	if addr := c.String("control-listen"); addr != "" {
		stopControl, err := serveControl(cl, addr, w)
		if err != nil {
			return fmt.Errorf("mesos-local: --control-listen: %w", err)
		}
		defer stopControl()
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
	for _, name := range []string{"max_completed_tasks_per_framework", "max_completed_frameworks"} {
		if c.Int(name) < 0 {
			return cfg, fmt.Errorf("mesos-local: --%s must not be negative, got %d", name, c.Int(name))
		}
	}
	cfg.MaxCompletedTasksPerFramework = completedFlag(c.Int("max_completed_tasks_per_framework"))
	cfg.MaxCompletedFrameworks = completedFlag(c.Int("max_completed_frameworks"))
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
	if c.IsSet("hostnames") && c.IsSet("agent") {
		return cfg, fmt.Errorf("mesos-local: give agent names with --agent or --hostnames, not both")
	}
	if err := applyAgentFlag(c, &cfg); err != nil {
		return cfg, fmt.Errorf("mesos-local: %w", err)
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

// completedFlag maps a --max_completed_* value to the Config's encoding,
// where 0 means the default and a negative value keeps none.
func completedFlag(v int) int {
	if v == 0 {
		return -1
	}
	return v
}

// serveControl serves the control endpoint of cl on addr (checked to be
// loopback) and prints its URL as "control: URL".
func serveControl(cl *localmesos.Cluster, addr string, w io.Writer) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: localmesos.ControlHandler(cl), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	fmt.Fprintf(w, "control: http://%s\n", l.Addr())
	return func() { _ = srv.Close() }, nil
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

// controlFlags name the control endpoint of a running mesos-local.
func controlFlags() []cli.Flag {
	return []cli.Flag{&cli.StringFlag{Name: "control", EnvVars: []string{"GLEANER_MESOS_CONTROL"}, Required: true,
		Usage: "URL of the mesos-local control endpoint, as it printed it (\"control: http://127.0.0.1:PORT\")"}}
}

// controlClient bounds every call to the control endpoint.
var controlClient = &http.Client{Timeout: 60 * time.Second}

// callControl sends method path to the control endpoint and decodes its
// JSON answer; an error answer becomes an error carrying its message.
func callControl(c *cli.Context, method, path string, out any) error {
	base := strings.TrimRight(c.String("control"), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--control %q: want a URL such as http://127.0.0.1:7070", base)
	}
	req, err := http.NewRequestWithContext(c.Context, method, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		return fmt.Errorf("control endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("control endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s", method, path, e.Error)
		}
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func mesosLocalAgentList(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("agent list: unexpected arguments %q", c.Args().Slice())
	}
	var out struct {
		Agents []struct {
			N        int    `json:"n"`
			Hostname string `json:"hostname"`
			ID       string `json:"id"`
			Endpoint string `json:"endpoint"`
		} `json:"agents"`
	}
	if err := callControl(c, http.MethodGet, "/agents", &out); err != nil {
		return fmt.Errorf("agent list: %w", err)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "N\tHOSTNAME\tID\tENDPOINT")
	for _, a := range out.Agents {
		ep := a.Endpoint
		if ep == "" {
			ep = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", a.N, a.Hostname, a.ID, ep)
	}
	return tw.Flush()
}

// mesosLocalAgentAction restarts or kills the agent named by the argument.
func mesosLocalAgentAction(verb string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() != 1 || c.Args().First() == "" {
			return fmt.Errorf("agent %s: want one agent NAME (hostname or number), got %d arguments", verb, c.NArg())
		}
		name := c.Args().First()
		var out struct {
			Hostname string `json:"hostname"`
			ID       string `json:"id"`
		}
		if err := callControl(c, http.MethodPost, "/agents/"+url.PathEscape(name)+"/"+verb, &out); err != nil {
			return fmt.Errorf("agent %s: %w", verb, err)
		}
		past := map[string]string{"restart": "restarted", "kill": "killed"}[verb]
		fmt.Fprintf(c.App.Writer, "%s agent %s (id %s)\n", past, out.Hostname, out.ID)
		return nil
	}
}
