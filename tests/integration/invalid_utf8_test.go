package integration

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
)

// rawCodec sends bytes as they are: the generated clients refuse to encode
// strings that are not UTF-8, but any other client may send them.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}
func (rawCodec) Name() string { return "proto" }

// withRawString is m's encoding plus one more occurrence of string field
// num holding raw (the last occurrence of a singular field wins; a list
// gets one more element).
func withRawString(t *testing.T, m proto.Message, num protowire.Number, raw string) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), raw)
}

// invokeRaw calls method with the encoded request wire.
func invokeRaw(ctx context.Context, conn *grpc.ClientConn, method string, wire []byte) error {
	var resp []byte
	return conn.Invoke(ctx, method, &wire, &resp, grpc.ForceCodecV2(rawCodec{}))
}

// A string that is not UTF-8 is a client's mistake: INVALID_ARGUMENT naming
// the field, for commands, queries and public methods alike (gRPC's own
// decoder answered INTERNAL without a field).
func TestStringsThatAreNotUTF8AreInvalidArgumentNamingTheField(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	s, _ := newSession(t, ctx, dev, g.GetId())
	attr := protowire.AppendString(protowire.AppendTag(nil, 2, protowire.BytesType), "\xff") // GameAttribute.string_value
	entry := protowire.AppendBytes(protowire.AppendTag(protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "hp"), 2, protowire.BytesType), attr)
	sessionWithAttr, _ := proto.Marshal(&gamepb.SessionCreate{GameId: g.GetId()})
	sessionWithAttr = protowire.AppendBytes(protowire.AppendTag(sessionWithAttr, 4, protowire.BytesType), entry)

	cases := []struct {
		name, method string
		wire         []byte
		field        string
	}{
		{"CreateGame name", commonpb.GameService_CreateGame_FullMethodName,
			withRawString(t, &gamepb.GameCreateRequest{Name: "g"}, 1, "g\xff"), "name"},
		{"CreateSession second user id", commonpb.GameService_CreateSession_FullMethodName,
			withRawString(t, &gamepb.SessionCreate{GameId: g.GetId(), UserIds: []string{dev.id}}, 2, "\xc0\x80"), "user_ids[1]"},
		{"CreateSession attribute value", commonpb.GameService_CreateSession_FullMethodName,
			sessionWithAttr, "attributes[hp].string_value"},
		{"CreateEntity name", commonpb.GameService_CreateEntity_FullMethodName,
			withRawString(t, &gamepb.EntityCreateRequest{SessionId: s.GetId(), GameId: g.GetId(), Type: "t"}, 1, "\xed\xa0\x80"), "name"},
		{"UpdatePlayer team", commonpb.PlayerService_UpdatePlayer_FullMethodName,
			withRawString(t, &playerpb.PlayerUpdate{Id: dev.id}, 4, "\xfe"), "team"},
		{"GetGame cursor (a query)", commonpb.GameService_GetGame_FullMethodName,
			withRawString(t, &gamepb.GameGetRequest{}, 3, "\xff"), "cursor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(invokeRaw(dev.ctx(ctx), env.Conn, tc.method, tc.wire))
			if st.Code() != codes.InvalidArgument || !namesField(st, tc.field) {
				t.Fatalf("got %v %q %v, want INVALID_ARGUMENT naming %s", st.Code(), st.Message(), st.Details(), tc.field)
			}
		})
	}
	t.Run("Login username (public method)", func(t *testing.T) {
		wire := withRawString(t, &authpb.LoginRequest{Password: "correct horse battery"}, 1, "ada\xff")
		st := status.Convert(invokeRaw(asNewClient(ctx), env.Conn, authpb.AuthService_Login_FullMethodName, wire))
		if st.Code() != codes.InvalidArgument || !namesField(st, "username") {
			t.Fatalf("got %v %q, want INVALID_ARGUMENT naming username", st.Code(), st.Message())
		}
	})
}
