// Package etcdtest runs a real etcd for tests and for `gleaner dev`: the
// embedded server (go.etcd.io/etcd/server/v3/embed) or Debian's etcd-server
// binary, on loopback ports, in a directory of its own.
package etcdtest
