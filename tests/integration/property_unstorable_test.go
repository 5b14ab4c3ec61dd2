package integration

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
)

// unstorable is a command with a NUL in one text field: it must be refused
// with INVALID_ARGUMENT naming that field, whoever sends it.
func (w *propWorld) unstorable() *propCall {
	var c *propCall
	switch w.r.IntN(7) {
	case 0:
		c = w.createGame()
		c.req.(*gamepb.GameCreateRequest).Name, c.invalid = unstorableText(w.r, propGameNameMax), "name"
	case 1:
		c = w.createGame()
		c.req.(*gamepb.GameCreateRequest).Description, c.invalid = unstorableText(w.r, propGameDescMax), "description"
	case 2:
		if c = w.updateGame(); c != nil {
			c.req.(*gamepb.GameUpdateRequest).ShortDescription, c.invalid = proto.String(unstorableText(w.r, propGameShortMax)), "short_description"
		}
	case 3:
		if c = w.createSession(); c != nil {
			c.req.(*gamepb.SessionCreate).UserIds, c.invalid = []string{unstorableText(w.r, 16)}, "user_ids[0]"
		}
	case 4:
		if c = w.createSession(); c != nil {
			c.req.(*gamepb.SessionCreate).Attributes = map[string]*gamepb.GameAttribute{
				"nul": {Value: &gamepb.GameAttribute_StringValue{StringValue: unstorableText(w.r, 100)}}}
			c.invalid = "attributes[nul]"
		}
	case 5:
		if c = w.createEntity(); c != nil {
			c.req.(*gamepb.EntityCreateRequest).PlayerId, c.invalid = proto.String(unstorableText(w.r, propEntityPlayerIDMax)), "player_id"
		}
	default:
		if c = w.updatePlayer(); c != nil {
			c.req.(*playerpb.PlayerUpdate).Team, c.invalid = proto.String(unstorableText(w.r, propTeamMax)), "team"
		}
	}
	if c != nil {
		c.op += " with NUL"
	}
	return c
}

// notUTF8 is a command with a string that is not UTF-8 added on the wire
// (the generated clients cannot encode one): it must be refused with
// INVALID_ARGUMENT naming the field, never fail as INTERNAL.
func (w *propWorld) notUTF8() *propCall {
	var c *propCall
	var field string
	switch w.r.IntN(4) {
	case 0:
		c, field = w.createGame(), "name"
	case 1:
		c, field = w.createSession(), "user_ids"
	case 2:
		c, field = w.createEntity(), "type"
	default:
		c, field = w.updatePlayer(), "team"
	}
	if c == nil {
		return nil
	}
	fd := c.req.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(field))
	c.invalid = field
	if fd.IsList() {
		c.invalid = fmt.Sprintf("%s[%d]", field, c.req.ProtoReflect().Get(fd).List().Len())
	}
	bad := []string{"\xff", "\xc0\x80", "\xed\xa0\x80", "a\xe2\x82", "\xf4\x90\x80\x80"}[w.r.IntN(5)]
	run := c.run
	c.run = func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error) {
		return run(ctx, append(opts, grpc.ForceCodecV2(appendStringCodec{num: fd.Number(), raw: bad}))...)
	}
	c.op += " not UTF-8"
	return c
}

// appendStringCodec encodes a request as usual plus one more occurrence of
// string field num holding raw bytes.
type appendStringCodec struct {
	num protowire.Number
	raw string
}

func (c appendStringCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	b = protowire.AppendString(protowire.AppendTag(b, c.num, protowire.BytesType), c.raw)
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (appendStringCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

func (appendStringCodec) Name() string { return "proto" }
