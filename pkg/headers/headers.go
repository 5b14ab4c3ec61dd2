// Package headers names, once, the gRPC metadata keys the platform adds to
// the oof.gg wire contract (documented in README "Wire additions"). Adding a
// key is additive; renaming one breaks published clients.
package headers

const (
	// Version answers an aggregate's version after a change or read.
	Version = "x-oof-version"
	// ExpectedVersion is sent by a client that wants its change to fail
	// ABORTED if the aggregate moved on since the version it read.
	ExpectedVersion = "x-oof-expected-version"
	// Consistency answers whether the read models already show a change
	// ("fresh") or will shortly ("pending").
	Consistency = "x-oof-consistency"
	// IdempotencyKey makes a create safe to retry.
	IdempotencyKey = "idempotency-key"
	// IdempotentReplay marks an answer replayed for a repeated key.
	IdempotentReplay = "x-oof-idempotent-replay"
	// SetUserIDs makes UpdateSession's user_ids the whole member list,
	// even when empty (the last member leaves).
	SetUserIDs = "x-oof-set-user-ids"
	// ResumeAfter is sent by a member reopening a live event stream with
	// the id of the last event it saw: it receives what followed.
	ResumeAfter = "x-oof-resume-after"
)
