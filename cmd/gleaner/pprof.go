package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/urfave/cli/v2"
)

// pprofFlag is the scheduler's opt-in profiling listener. Profiles reveal
// memory contents (job specs, tokens in flight), so it is off by default and
// binds only to a loopback address: reach it through SSH, never the network.
func pprofFlag() cli.Flag {
	return &cli.StringFlag{Name: "pprof-listen", Usage: "serve Go's /debug/pprof/ (no authentication) on this loopback `ADDR`, e.g. 127.0.0.1:6060; off when empty"}
}

// servePprof serves /debug/pprof/ on addr until ctx ends; addr "" does
// nothing. It returns once the listener is bound (or failed to bind).
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	if err := checkLoopback(addr); err != nil {
		return fmt.Errorf("--pprof-listen: %w", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof listener", "err", err)
		}
	}()
	log.Warn("serving unauthenticated Go profiles", "pprof", "http://"+l.Addr().String()+"/debug/pprof/")
	return nil
}
