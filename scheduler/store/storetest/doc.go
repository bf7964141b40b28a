// Package storetest is the contract test suite every store.Store passes.
package storetest
