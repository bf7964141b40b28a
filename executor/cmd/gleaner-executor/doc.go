// Command gleaner-executor is a slim build of `gleaner executor`: the same
// executor and flags without the scheduler, monitor and etcd code, for hosts
// where the executor's resident memory matters (it is started once per
// framework on every agent).
package main
