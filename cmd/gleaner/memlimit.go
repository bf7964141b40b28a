package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// memoryLimitFlag sets the Go runtime's soft memory limit. While a big job
// runs, most of what the scheduler's RSS grows by is garbage (decoded etcd
// pages, gRPC buffers, Mesos events) that the collector, left to its
// default pace, lets reach twice the live heap before collecting; with a
// limit it collects sooner as the process nears the limit. Soft: a live
// heap above the limit is never refused, only collected more often.
func memoryLimitFlag() cli.Flag {
	return &cli.StringFlag{Name: "memory-limit", Usage: "soft limit on the process's Go memory, e.g. 256MiB or 1GiB (bytes without a unit): " +
		"the garbage collector runs more often as the process nears it, and never refuses memory; off when empty (the GOMEMLIMIT environment variable then applies)"}
}

// maxMemoryLimit bounds --memory-limit: anything larger is a typo.
const maxMemoryLimit = 1 << 50 // 1 PiB

var memoryUnits = []struct {
	suffix string
	scale  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"B", 1},
}

// parseMemoryLimit reads --memory-limit: a whole number of bytes with an
// optional binary unit (B, KiB, MiB, GiB, TiB). "" is 0 (no limit). Pure.
func parseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if len(s) > 32 {
		return 0, fmt.Errorf("--memory-limit %.32q…: too long", s)
	}
	num, scale := s, int64(1)
	for _, u := range memoryUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, scale = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.scale
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--memory-limit %q: want a positive whole number with an optional unit (B, KiB, MiB, GiB, TiB), e.g. 512MiB", s)
	}
	if n > maxMemoryLimit/scale {
		return 0, fmt.Errorf("--memory-limit %q: more than 1 PiB", s)
	}
	return n * scale, nil
}

// applyMemoryLimit sets the runtime's soft memory limit from --memory-limit;
// an empty flag leaves the runtime's own (GOMEMLIMIT, or none).
func applyMemoryLimit(c *cli.Context, log *slog.Logger) error {
	limit, err := parseMemoryLimit(c.String("memory-limit"))
	if err != nil || limit == 0 {
		return err
	}
	debug.SetMemoryLimit(limit)
	log.Info("soft memory limit", "bytes", limit, "MiB", math.Round(float64(limit)/(1<<20)))
	return nil
}
