package kit

import (
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Decode unmarshals a read-model snapshot into a new message made by newMsg.
func Decode[T proto.Message](snap []byte, newMsg func() T) (T, error) {
	m := newMsg()
	if err := proto.Unmarshal(snap, m); err != nil {
		var zero T
		return zero, apperr.Internal("decode "+string(m.ProtoReflect().Descriptor().Name())+" snapshot", err)
	}
	return m, nil
}
