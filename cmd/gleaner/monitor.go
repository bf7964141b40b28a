package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/monitor"
)

func init() {
	register(&cli.Command{
		Name:  "monitor",
		Usage: "measure idle capacity on this business host and keep the agent's batch reservation at it",
		Description: "Samples the host every --interval, throttles the batch cgroups when business load spikes,\n" +
			"asks the scheduler (through etcd) to evict batch work when memory is short or a spike persists,\n" +
			"and reserves / unreserves the difference for --role on the agent through the master's operator API.\n" +
			"See monitor/README.md for the formula and the defaults. The slim gleaner-monitor binary takes the\n" +
			"same flags with less resident memory.",
		Flags:  monitorCLIFlags(),
		Action: runMonitor,
	})
}

// monitorCLIFlags are the monitor's flags (monitor.Flags, shared with the
// slim gleaner-monitor binary) as urfave/cli flags.
func monitorCLIFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range monitor.Flags() {
		var env []string
		if f.EnvVar != "" {
			env = []string{f.EnvVar}
		}
		switch v := f.Default.(type) {
		case string:
			out = append(out, &cli.StringFlag{Name: f.Name, Usage: f.Usage, Value: v, Required: f.Required, EnvVars: env})
		case []string:
			fl := &cli.StringSliceFlag{Name: f.Name, Usage: f.Usage, Required: f.Required, EnvVars: env}
			if v != nil {
				fl.Value = cli.NewStringSlice(v...)
			}
			out = append(out, fl)
		case bool:
			out = append(out, &cli.BoolFlag{Name: f.Name, Usage: f.Usage, Value: v, Required: f.Required, EnvVars: env})
		case int:
			out = append(out, &cli.IntFlag{Name: f.Name, Usage: f.Usage, Value: v, Required: f.Required, EnvVars: env})
		case float64:
			out = append(out, &cli.Float64Flag{Name: f.Name, Usage: f.Usage, Value: v, Required: f.Required, EnvVars: env})
		case time.Duration:
			out = append(out, &cli.DurationFlag{Name: f.Name, Usage: f.Usage, Value: v, Required: f.Required, EnvVars: env})
		default:
			panic(fmt.Sprintf("monitor flag --%s: default of type %T", f.Name, f.Default))
		}
	}
	return out
}

func runMonitor(c *cli.Context) error {
	cfg, err := monitor.ConfigFromFlags(c)
	if err != nil {
		return err
	}
	if cfg.Etcd != nil {
		defer cfg.Etcd.Close()
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return monitor.Run(ctx, cfg)
}
