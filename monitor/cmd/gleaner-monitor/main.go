// Command gleaner-monitor is `gleaner monitor` in a slim binary: the same
// flags (monitor.Flags), without the scheduler, executor, local Mesos and
// command-line client linked in. Measured after a few minutes of sampling it
// holds about half the resident memory of the one gleaner binary (whose
// other packages' initialisers and larger code and tables stay resident);
// see monitor/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gleaner-project/gleaner/monitor"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "monitor" {
		args = args[1:] // accept the same command line as `gleaner monitor`
	}
	v, err := parse(args)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gleaner-monitor:", err)
		os.Exit(2)
	}
	if err := run(v); err != nil {
		fmt.Fprintln(os.Stderr, "gleaner-monitor:", err)
		os.Exit(1)
	}
}

func run(v *values) error {
	cfg, err := monitor.ConfigFromFlags(v)
	if err != nil {
		return err
	}
	if cfg.Etcd != nil {
		defer cfg.Etcd.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return monitor.Run(ctx, cfg)
}

// values holds the parsed flags and answers monitor.FlagValues.
type values struct {
	strs   map[string]*string
	slices map[string]*sliceValue
	bools  map[string]*bool
	ints   map[string]*int
	floats map[string]*float64
	durs   map[string]*time.Duration
}

// sliceValue is a repeatable flag; the first use replaces the default.
type sliceValue struct {
	v   []string
	set bool
}

func (s *sliceValue) String() string { return strings.Join(s.v, ",") }
func (s *sliceValue) Set(x string) error {
	if !s.set {
		s.v, s.set = nil, true
	}
	s.v = append(s.v, x)
	return nil
}

// parse reads args with the standard flag package, then the environment
// variables of flags not given, then checks the required ones.
func parse(args []string) (*values, error) {
	fs := flag.NewFlagSet("gleaner-monitor", flag.ContinueOnError)
	v := &values{strs: map[string]*string{}, slices: map[string]*sliceValue{}, bools: map[string]*bool{},
		ints: map[string]*int{}, floats: map[string]*float64{}, durs: map[string]*time.Duration{}}
	defs := monitor.Flags()
	for _, f := range defs {
		switch d := f.Default.(type) {
		case string:
			v.strs[f.Name] = fs.String(f.Name, d, f.Usage)
		case []string:
			s := &sliceValue{v: append([]string(nil), d...)}
			v.slices[f.Name] = s
			fs.Var(s, f.Name, f.Usage+" (repeatable)")
		case bool:
			v.bools[f.Name] = fs.Bool(f.Name, d, f.Usage)
		case int:
			v.ints[f.Name] = fs.Int(f.Name, d, f.Usage)
		case float64:
			v.floats[f.Name] = fs.Float64(f.Name, d, f.Usage)
		case time.Duration:
			v.durs[f.Name] = fs.Duration(f.Name, d, f.Usage)
		default:
			return nil, fmt.Errorf("flag --%s: default of type %T", f.Name, f.Default)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, f := range defs {
		if given[f.Name] || f.EnvVar == "" {
			continue
		}
		if e, ok := os.LookupEnv(f.EnvVar); ok {
			if err := fs.Set(f.Name, e); err != nil {
				return nil, fmt.Errorf("$%s: %w", f.EnvVar, err)
			}
			given[f.Name] = true
		}
	}
	for _, f := range defs {
		if f.Required && !given[f.Name] {
			return nil, fmt.Errorf("--%s is required", f.Name)
		}
	}
	return v, nil
}

func (v *values) String(n string) string { return deref(v.strs[n]) }
func (v *values) StringSlice(n string) []string {
	if s := v.slices[n]; s != nil {
		return s.v
	}
	return nil
}
func (v *values) Bool(n string) bool              { return deref(v.bools[n]) }
func (v *values) Int(n string) int                { return deref(v.ints[n]) }
func (v *values) Float64(n string) float64        { return deref(v.floats[n]) }
func (v *values) Duration(n string) time.Duration { return deref(v.durs[n]) }
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
