// Package auth holds the scheduler API's credentials: bearer tokens with a
// name and a role (admin, read-only), kept in etcd only as SHA-256 hashes and
// created at first start into a 0600 file; the decisions (who may do what,
// which header names which token) are pure and table-tested.
package auth
