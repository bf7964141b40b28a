// Package chaos is the chaos test of a whole Gleaner installation: real etcd,
// `gleaner mesos-local` and two `gleaner scheduler` processes, with leaders,
// agents, the local Mesos and etcd killed or restarted while jobs run, then a
// check (Check, pure) that nothing was lost and nothing ran twice.
package chaos
