// Package matcher adapts the placement chain to the scheduler core's
// engine.Matcher interface: offers and demands in, constraint-aware, fairly
// ordered placements out, with "why pending" kept per task.
package matcher
