package respond

import (
	"strings"

	"google.golang.org/protobuf/proto"

	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
)

// ScoreError is GameError for the score package, whose Status.details is a
// single string: the field problems joined with "; ".
func ScoreError(err error) error {
	return withBody(err, func(code int32, msg string, details []string) proto.Message {
		return &scorepb.StandardResponse{Code: code, Message: msg,
			Error: &scorepb.Status{Code: code, Message: msg, Details: strings.Join(details, "; ")}}
	})
}
