// Package placement decides where pending instances run: a pure, allocation-free
// placement chain (feasibility cached per agent class, then bin-pack or spread
// over a limited candidate set) with named rejection reasons, plus fair ordering
// of pending work and a preemption planner. It does no I/O.
package placement
