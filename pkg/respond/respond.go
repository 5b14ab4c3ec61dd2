// Package respond builds the contract's Standard/Paginated response bodies.
// Their code/message/error mirror the outcome for clients that read bodies;
// a failure is also a real gRPC status, and that status carries the failure
// body as a detail (a gRPC error cannot carry a response message).
//
// code is the numeric gRPC status code (0 = OK).
package respond

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/apperr"
)

// OKMessage is the message of every successful body.
const OKMessage = "OK"

// Game is a successful game.StandardResponse; set fills its data.
func Game(set func(*gamepb.StandardResponse)) *gamepb.StandardResponse {
	r := &gamepb.StandardResponse{Code: int32(codes.OK), Message: OKMessage}
	set(r)
	return r
}

// GamePage is a successful game.PaginatedResponse.
func GamePage(set func(*gamepb.PaginatedResponse)) *gamepb.PaginatedResponse {
	r := &gamepb.PaginatedResponse{Code: int32(codes.OK), Message: OKMessage}
	set(r)
	return r
}

// GameError turns err into a gRPC status whose details include the failure
// as a game.StandardResponse.
func GameError(err error) error {
	return withBody(err, func(code int32, msg string, details []string) proto.Message {
		return &gamepb.StandardResponse{Code: code, Message: msg, Error: &gamepb.Status{Code: code, Message: msg, Details: details}}
	})
}

// GamePageError is GameError for methods answering PaginatedResponse.
func GamePageError(err error) error {
	return withBody(err, func(code int32, msg string, details []string) proto.Message {
		return &gamepb.PaginatedResponse{Code: code, Message: msg, Error: &gamepb.Status{Code: code, Message: msg, Details: details}}
	})
}

// Player is a successful player.StandardResponse.
func Player(set func(*playerpb.StandardResponse)) *playerpb.StandardResponse {
	r := &playerpb.StandardResponse{Code: int32(codes.OK), Message: OKMessage}
	set(r)
	return r
}

// PlayerError is GameError for the player package.
func PlayerError(err error) error {
	return withBody(err, func(code int32, msg string, details []string) proto.Message {
		return &playerpb.StandardResponse{Code: code, Message: msg, Error: &playerpb.Status{Code: code, Message: msg, Details: details}}
	})
}

func withBody(err error, body func(code int32, msg string, details []string) proto.Message) error {
	if err == nil {
		return nil
	}
	var e *apperr.Error
	var details []string
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			details = append(details, f.Field+": "+f.Description)
		}
	}
	st := apperr.ToStatus(err)
	if withDetail, derr := st.WithDetails(protoadapt.MessageV1Of(body(int32(st.Code()), st.Message(), details))); derr == nil {
		st = withDetail
	}
	return &StatusError{status: st, cause: err}
}

// StatusError is a finished status (what the client gets) that keeps its
// cause for the server's logs.
type StatusError struct {
	status *status.Status
	cause  error
}

func (e *StatusError) Error() string              { return e.cause.Error() }
func (e *StatusError) GRPCStatus() *status.Status { return e.status }
