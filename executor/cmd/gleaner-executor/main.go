package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gleaner-project/gleaner/executor"
	"github.com/gleaner-project/gleaner/executor/sandbox"
)

func main() {
	if sandbox.IsInit() {
		sandbox.Init()
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "executor" {
		args = args[1:] // accept the same command line as `gleaner executor`
	}
	fs := flag.NewFlagSet("gleaner-executor", flag.ContinueOnError)
	opts := executor.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "gleaner-executor:", err)
		os.Exit(1)
	}
}

func run(opts *executor.Flags) error {
	cfg, err := executor.FromEnv()
	if err != nil {
		return err
	}
	if err := opts.Apply(&cfg); err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	e, err := executor.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return e.Run(ctx)
}
