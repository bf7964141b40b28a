// Package policy is the monitor's pure decision code: from host measurements
// it derives the batch allowance, the reservation target (with peak-hold and
// hysteresis), the CPU throttle and eviction requests. It does no I/O.
package policy
