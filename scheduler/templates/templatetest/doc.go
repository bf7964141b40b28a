// Package templatetest is the contract test suite every templates.Store passes.
package templatetest
