package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/attrs"
)

// `gleaner agent ...`: list agents and edit their live attributes through
// the scheduler API (/v1/agents).

func agentFlags() []cli.Flag {
	return append(apiClientFlags(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table, json or yaml"},
		&cli.BoolFlag{Name: "allow-unknown", Usage: "set attributes of a hostname no agent or monitor has shown yet (refused otherwise: a typo would make a phantom agent)"},
	)
}

func init() {
	register(&cli.Command{
		Name:  "agent",
		Usage: "list agents and edit their live attributes",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list agents: resources, monitor heartbeat, attributes (Mesos overlaid with etcd)",
				Flags:     agentFlags(),
				ArgsUsage: " ",
				Action:    agentList,
			},
			{
				Name:  "attrs",
				Usage: "get, set or remove an agent's etcd attributes",
				Subcommands: []*cli.Command{
					{Name: "get", Usage: "show an agent's etcd attributes", ArgsUsage: "HOST", Flags: agentFlags(), Action: agentAttrsGet},
					{Name: "set", Usage: "set attributes (others are kept)", ArgsUsage: "HOST KEY=VALUE...", Flags: agentFlags(), Action: agentAttrsSet},
					{Name: "rm", Usage: "remove attributes", ArgsUsage: "HOST KEY...", Flags: agentFlags(), Action: agentAttrsRm},
					{Name: "history", Usage: "list the changes of an agent's attributes", ArgsUsage: "HOST", Flags: agentFlags(), Action: agentAttrsHistory},
				},
			},
		},
	})
}

// agentCall holds the options of one invocation; flags may also follow the
// positional arguments.
type agentCall struct {
	api, token, tokenFile, output, timeout string
	allowUnknown                           bool
	args                                   []string
	c                                      *cli.Context
	client                                 *client.Client
}

func newAgentCall(c *cli.Context) (*agentCall, error) {
	a := &agentCall{api: c.String("api"), token: c.String("token"), tokenFile: c.String("token-file"), output: c.String("output"),
		timeout: c.Duration("timeout").String(), allowUnknown: c.Bool("allow-unknown"), c: c}
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		var dst *string
		if strings.HasPrefix(args[i], "-") {
			switch name {
			case "api":
				dst = &a.api
			case "token":
				dst = &a.token
			case "token-file":
				dst = &a.tokenFile
			case "timeout":
				dst = &a.timeout
			case "o", "output":
				dst = &a.output
			case "allow-unknown":
				a.allowUnknown = !hasVal || val == "true"
				continue
			}
		}
		if dst == nil {
			a.args = append(a.args, args[i])
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			val = args[i]
		}
		*dst = val
	}
	if a.output != "table" && a.output != "json" && a.output != "yaml" {
		return nil, fmt.Errorf("--output: want table, json or yaml, got %q", a.output)
	}
	if _, err := url.Parse(a.api); err != nil || !strings.HasPrefix(a.api, "http") {
		return nil, fmt.Errorf("--api: %q is not an http(s) URL", a.api)
	}
	d, err := time.ParseDuration(a.timeout)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("--timeout: want a positive duration, got %q", a.timeout)
	}
	if a.client, err = newAPIClient(a.api, a.token, a.tokenFile, d); err != nil {
		return nil, err
	}
	return a, nil
}

// call makes one SDK call; an API error names its HTTP status.
func (a *agentCall) call(f func(ctx context.Context, c *client.Client) (json.RawMessage, error)) (json.RawMessage, error) {
	raw, err := f(a.c.Context, a.client)
	return raw, withHTTPStatus(err)
}

func (a *agentCall) printRaw(raw json.RawMessage) error {
	if a.output == "yaml" {
		b, err := yaml.JSONToYAML(raw)
		if err != nil {
			return err
		}
		_, err = a.c.App.Writer.Write(b)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := a.c.App.Writer.Write(buf.Bytes())
	return err
}

func (a *agentCall) host(want int, usage string) (string, error) {
	if len(a.args) < want {
		return "", fmt.Errorf("usage: %s", usage)
	}
	h := a.args[0]
	if err := attrs.ValidateHostname(h); err != nil {
		return "", err
	}
	return h, nil
}

func kvString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

func agentList(c *cli.Context) error {
	a, err := newAgentCall(c)
	if err != nil {
		return err
	}
	raw, err := a.call(func(ctx context.Context, c *client.Client) (json.RawMessage, error) { return c.Agents(ctx) })
	if err != nil {
		return err
	}
	if a.output != "table" {
		return a.printRaw(raw)
	}
	var resp struct {
		Agents []attrs.AgentView `json:"agents"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("decode agents: %w", err)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOSTNAME\tCPUS\tMEM\tRESERVED\tMONITOR\tATTRIBUTES (etcd over mesos)")
	for _, v := range resp.Agents {
		mon := "ok"
		if v.MonitorSilent {
			mon = "silent"
		}
		reserved := "-"
		if !v.Reserved.IsZero() {
			reserved = fmt.Sprintf("cpus:%g mem:%g", v.Reserved.CPUs, v.Reserved.Mem)
		}
		fmt.Fprintf(tw, "%s\t%g\t%g\t%s\t%s\t%s\n", v.Hostname, v.Resources.CPUs, v.Resources.Mem, reserved, mon, kvString(v.Attributes))
	}
	return tw.Flush()
}

func agentAttrsGet(c *cli.Context) error {
	a, err := newAgentCall(c)
	if err != nil {
		return err
	}
	host, err := a.host(1, "gleaner agent attrs get HOST")
	if err != nil {
		return err
	}
	raw, err := a.call(func(ctx context.Context, c *client.Client) (json.RawMessage, error) { return c.Attributes(ctx, host) })
	if err != nil {
		return err
	}
	if a.output != "table" {
		return a.printRaw(raw)
	}
	var resp struct {
		Attributes map[string]string `json:"attributes"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return err
	}
	keys := make([]string, 0, len(resp.Attributes))
	for k := range resp.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(c.App.Writer, "%s=%s\n", k, resp.Attributes[k])
	}
	return nil
}

func agentAttrsSet(c *cli.Context) error {
	a, err := newAgentCall(c)
	if err != nil {
		return err
	}
	host, err := a.host(2, "gleaner agent attrs set HOST KEY=VALUE...")
	if err != nil {
		return err
	}
	patch := map[string]*string{}
	for _, kv := range a.args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q: want KEY=VALUE", kv)
		}
		patch[k] = &v
	}
	return a.change(host, patch)
}

func agentAttrsRm(c *cli.Context) error {
	a, err := newAgentCall(c)
	if err != nil {
		return err
	}
	host, err := a.host(2, "gleaner agent attrs rm HOST KEY...")
	if err != nil {
		return err
	}
	if len(a.args) == 2 {
		// One key: DELETE, so a missing key is reported.
		if err := attrs.ValidateKey(a.args[1]); err != nil {
			return err
		}
		raw, err := a.call(func(ctx context.Context, c *client.Client) (json.RawMessage, error) {
			return c.RemoveAttribute(ctx, host, a.args[1])
		})
		if err != nil {
			return err
		}
		return a.printChange(raw)
	}
	patch := map[string]*string{}
	for _, k := range a.args[1:] {
		patch[k] = nil
	}
	return a.change(host, patch)
}

func (a *agentCall) change(host string, patch map[string]*string) error {
	raw, err := a.call(func(ctx context.Context, c *client.Client) (json.RawMessage, error) {
		return c.PatchAttributes(ctx, host, patch, a.allowUnknown)
	})
	if err != nil {
		return err
	}
	return a.printChange(raw)
}

func (a *agentCall) printChange(raw json.RawMessage) error {
	if a.output != "table" {
		return a.printRaw(raw)
	}
	var ch attrs.Change
	if err := json.Unmarshal(raw, &ch); err != nil {
		return err
	}
	if len(ch.Diffs) == 0 {
		fmt.Fprintf(a.c.App.Writer, "%s: no change\n", ch.Hostname)
		return nil
	}
	for _, d := range ch.Diffs {
		fmt.Fprintf(a.c.App.Writer, "%s: %s %s → %s\n", ch.Hostname, d.Key, orNone(d.Old), orNone(d.New))
	}
	return nil
}

func orNone(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}

func agentAttrsHistory(c *cli.Context) error {
	a, err := newAgentCall(c)
	if err != nil {
		return err
	}
	host, err := a.host(1, "gleaner agent attrs history HOST")
	if err != nil {
		return err
	}
	raw, err := a.call(func(ctx context.Context, c *client.Client) (json.RawMessage, error) {
		return c.AttributeHistory(ctx, host)
	})
	if err != nil {
		return err
	}
	if a.output != "table" {
		return a.printRaw(raw)
	}
	var resp struct {
		Changes []attrs.Change `json:"changes"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHO\tOP\tCHANGES")
	for _, ch := range resp.Changes {
		var parts []string
		for _, d := range ch.Diffs {
			parts = append(parts, d.Key+": "+orNone(d.Old)+" → "+orNone(d.New))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.At.Format(time.RFC3339), ch.Who, ch.Op, strings.Join(parts, "; "))
	}
	return tw.Flush()
}
