// Command benchtable runs the benchmarks named in goals.tsv and prints one
// table of the headline figures: name, value, unit, goal, and whether the goal
// is met. `make bench` runs it.
package main
