// Package retention decides which finished jobs' records to delete: those
// past their time to live after finishing, and the runs of a scheduled job
// beyond its history limits. It is pure; the scheduler node deletes.
package retention
