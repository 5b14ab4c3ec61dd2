// Package routing is the single table that says which deployment target owns
// each RPC of the public API. The gRPC server wiring, envoy.yaml (checked by a
// test) and the docs all follow it, so a method can never be served by one
// target and routed to another.
package routing

import "sort"

// Target is a deployable component of the oof binary (-target flag).
type Target string

const (
	TargetCommand   Target = "command"
	TargetQuery     Target = "query"
	TargetProjector Target = "projector"
	TargetAll       Target = "all"
	// TargetMatchmaker runs the matchmaker worker (no RPCs of its own).
	TargetMatchmaker Target = "matchmaker"
)

// TargetStream serves the long-lived streams (docs/realtime.md), so open
// connections scale apart from reads.
const TargetStream Target = "stream"

// Owners maps every full gRPC method name ("/pkg.Service/Method") of the
// public API to the target that serves it. Writes go to command, reads to
// query, and the long-lived streams to stream.
func Owners() map[string]Target {
	return map[string]Target{
		"/v1.api.auth.AuthService/Register":      TargetCommand,
		"/v1.api.auth.AuthService/Login":         TargetCommand,
		"/v1.api.auth.AuthService/RefreshToken":  TargetCommand,
		"/v1.api.auth.AuthService/TwitchLogin":   TargetCommand,
		"/v1.api.auth.AuthService/ValidateToken": TargetQuery,

		"/v1.api.common.GameService/JoinLeave":     TargetCommand,
		"/v1.api.common.GameService/CreateSession": TargetCommand,
		"/v1.api.common.GameService/UpdateSession": TargetCommand,
		"/v1.api.common.GameService/DeleteSession": TargetCommand,
		"/v1.api.common.GameService/CreateEntity":  TargetCommand,
		"/v1.api.common.GameService/UpdateEntity":  TargetCommand,
		"/v1.api.common.GameService/DeleteEntity":  TargetCommand,
		"/v1.api.common.GameService/CreateGame":    TargetCommand,
		"/v1.api.common.GameService/UpdateGame":    TargetCommand,
		"/v1.api.common.GameService/GetSession":    TargetQuery,
		"/v1.api.common.GameService/GetEntity":     TargetQuery,
		"/v1.api.common.GameService/GetGame":       TargetQuery,
		"/v1.api.common.GameService/TrendingGame":  TargetQuery,
		"/v1.api.common.GameService/StreamEvents":  TargetStream,
		"/v1.api.common.GameService/WatchQueue":    TargetStream,

		"/v1.api.common.GlobalService/StreamEvents":   TargetStream,
		"/v1.api.common.InstanceService/StreamEvents": TargetStream,

		"/v1.api.common.PlayerService/CreatePlayer": TargetCommand,
		"/v1.api.common.PlayerService/UpdatePlayer": TargetCommand,
		"/v1.api.common.PlayerService/GetPlayer":    TargetQuery,

		"/v1.api.common.ScoreService/SubmitScore":     TargetCommand,
		"/v1.api.common.ScoreService/GetPlayerScores": TargetQuery,
		"/v1.api.common.ScoreService/GetLeaderboard":  TargetQuery,
		"/v1.api.common.ScoreService/GetPlayerRank":   TargetQuery,

		// The operator API (admins only, docs/operations.md) lives on
		// command: its writes are commands and its status read needs
		// Kafka, which the query target does not reach.
		"/oof.ops.v1.OpsService/CreateUser": TargetCommand,
		"/oof.ops.v1.OpsService/GrantRole":  TargetCommand,
		"/oof.ops.v1.OpsService/GetStatus":  TargetCommand,
		// Match history reads PostgreSQL; its replay reads Kafka.
		"/oof.ops.v1.OpsService/ListMatches": TargetCommand,
		"/oof.ops.v1.OpsService/GetMatch":    TargetCommand,
		"/oof.ops.v1.OpsService/ReplayMatch": TargetCommand,
		// Dead letters: PostgreSQL, and a re-drive applies through the
		// projectors' code (the same as `oof deadletters`).
		"/oof.ops.v1.OpsService/ListDeadLetters":  TargetCommand,
		"/oof.ops.v1.OpsService/RetryDeadLetters": TargetCommand,
		// Erasure changes accounts, keys and players: a command.
		"/oof.ops.v1.OpsService/EraseUser": TargetCommand,
	}
}

// MethodsOf returns the sorted full method names owned by t.
func MethodsOf(t Target) []string {
	var out []string
	for m, owner := range Owners() {
		if owner == t {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}
