package grpcx

import (
	"context"
	"io"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// commandSide serves Login. It also implements ValidateToken, wrongly, so a
// test can tell that ValidateToken was routed to the other implementation.
type commandSide struct {
	authpb.UnimplementedAuthServiceServer
	logins atomic.Int32
}

func (c *commandSide) Login(_ context.Context, r *authpb.LoginRequest) (*authpb.LoginResponse, error) {
	c.logins.Add(1)
	return &authpb.LoginResponse{AccessToken: "command:" + r.GetUsername(), ExpiresIn: 900}, nil
}

func (c *commandSide) ValidateToken(context.Context, *authpb.ValidateTokenRequest) (*authpb.ValidateTokenResponse, error) {
	return &authpb.ValidateTokenResponse{UserId: "WRONG-command-side"}, nil
}

// querySide serves ValidateToken; its Login is likewise a decoy. block, when
// set, makes ValidateToken wait so shutdown tests have a call in flight.
type querySide struct {
	authpb.UnimplementedAuthServiceServer
	validations atomic.Int32
	started     chan struct{}
	release     chan struct{}
}

func (q *querySide) Login(context.Context, *authpb.LoginRequest) (*authpb.LoginResponse, error) {
	return &authpb.LoginResponse{AccessToken: "WRONG-query-side"}, nil
}

func (q *querySide) ValidateToken(ctx context.Context, r *authpb.ValidateTokenRequest) (*authpb.ValidateTokenResponse, error) {
	q.validations.Add(1)
	if q.release != nil {
		close(q.started)
		select {
		case <-q.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &authpb.ValidateTokenResponse{IsValid: true, UserId: "query:" + r.GetAccessToken(), Role: "player"}, nil
}

func composed() (*Services, *commandSide, *querySide) {
	cmd, qry := &commandSide{}, &querySide{}
	s := NewServices()
	s.Add(&authpb.AuthService_ServiceDesc, cmd, "Login")
	s.Add(&authpb.AuthService_ServiceDesc, qry, "ValidateToken")
	return s, cmd, qry
}

// startGRPC serves srv on loopback and returns a client conn to it.
func startGRPC(t *testing.T, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return dial(t, lis.Addr().String())
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestServicesRouteMethodsToTheirOwners(t *testing.T) {
	s, cmd, qry := composed()
	var intercepted []string
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		intercepted = append(intercepted, info.FullMethod)
		return h(ctx, req)
	}))
	s.RegisterOn(srv)
	cc := startGRPC(t, srv)
	client := authpb.NewAuthServiceClient(cc)
	ctx := callCtx(t)

	login, err := client.Login(ctx, &authpb.LoginRequest{Username: "ann", Password: "pw"})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if login.GetAccessToken() != "command:ann" || login.GetExpiresIn() != 900 {
		t.Fatalf("Login reached the wrong implementation: %v", login)
	}
	v, err := client.ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: "tok"})
	if err != nil {
		t.Fatalf("ValidateToken: %v", err)
	}
	if !v.GetIsValid() || v.GetUserId() != "query:tok" || v.GetRole() != "player" {
		t.Fatalf("ValidateToken reached the wrong implementation: %v", v)
	}
	if cmd.logins.Load() != 1 || qry.validations.Load() != 1 {
		t.Fatalf("calls: command %d logins, query %d validations", cmd.logins.Load(), qry.validations.Load())
	}
	want := []string{authpb.AuthService_Login_FullMethodName, authpb.AuthService_ValidateToken_FullMethodName}
	if !reflect.DeepEqual(intercepted, want) {
		t.Fatalf("interceptor saw %v, want %v", intercepted, want)
	}

	unregistered := []struct {
		name string
		call func() error
	}{
		{"Register", func() error { _, err := client.Register(ctx, &authpb.RegisterRequest{}); return err }},
		{"TwitchLogin", func() error { _, err := client.TwitchLogin(ctx, &authpb.TwitchLoginRequest{}); return err }},
		{"RefreshToken", func() error { _, err := client.RefreshToken(ctx, &authpb.RefreshTokenRequest{}); return err }},
		{"method not in the service", func() error {
			return cc.Invoke(ctx, "/v1.api.auth.AuthService/Nope", &authpb.LoginRequest{}, &authpb.LoginResponse{})
		}},
		{"service not registered", func() error {
			return cc.Invoke(ctx, "/v1.api.other.Other/Login", &authpb.LoginRequest{}, &authpb.LoginResponse{})
		}},
	}
	for _, tc := range unregistered {
		if code := status.Code(tc.call()); code != codes.Unimplemented {
			t.Errorf("%s: code %v, want Unimplemented", tc.name, code)
		}
	}
	if cmd.logins.Load() != 1 || qry.validations.Load() != 1 {
		t.Fatalf("unregistered calls reached an implementation")
	}
}

// registerImpl implements Register but only contributes Login: a method
// nobody registered must answer UNIMPLEMENTED, not reach an implementation
// that happens to have it.
type registerImpl struct {
	authpb.UnimplementedAuthServiceServer
}

func (registerImpl) Register(context.Context, *authpb.RegisterRequest) (*authpb.RegisterResponse, error) {
	return &authpb.RegisterResponse{}, nil
}

func TestServicesUnownedMethodIsUnimplemented(t *testing.T) {
	s := NewServices()
	s.Add(&authpb.AuthService_ServiceDesc, registerImpl{}, "Login")
	srv := grpc.NewServer()
	s.RegisterOn(srv)
	client := authpb.NewAuthServiceClient(startGRPC(t, srv))
	_, err := client.Register(callCtx(t), &authpb.RegisterRequest{})
	if err == nil {
		t.Fatal("unregistered Register was served by the implementation added for Login")
	}
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("code %v, want Unimplemented", status.Code(err))
	}
}

func TestServicesAddPanics(t *testing.T) {
	desc := &authpb.AuthService_ServiceDesc
	cases := []struct {
		name  string
		setup func(s *Services)
		want  string
	}{
		{"unknown method", func(s *Services) { s.Add(desc, &commandSide{}, "Logout") }, "has no method Logout"},
		{"method name is not a full name", func(s *Services) { s.Add(desc, &commandSide{}, authpb.AuthService_Login_FullMethodName) }, "has no method"},
		{"duplicate across implementations", func(s *Services) {
			s.Add(desc, &commandSide{}, "Login")
			s.Add(desc, &querySide{}, "Login")
		}, "Login registered twice"},
		{"duplicate in one call", func(s *Services) { s.Add(desc, &commandSide{}, "Register", "Register") }, "Register registered twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("Add did not panic")
				}
				if msg, _ := r.(string); !strings.Contains(msg, tc.want) {
					t.Fatalf("panic %v, want it to mention %q", r, tc.want)
				}
			}()
			tc.setup(NewServices())
		})
	}
}

func TestFullMethods(t *testing.T) {
	s, _, _ := composed()
	s.Add(&echoDesc, &echoImpl{}, "Echo")
	want := []string{"/test.Echo/Echo", authpb.AuthService_Login_FullMethodName, authpb.AuthService_ValidateToken_FullMethodName}
	if got := s.FullMethods(); !reflect.DeepEqual(got, want) {
		t.Fatalf("FullMethods = %v, want %v", got, want)
	}
	if got := NewServices().FullMethods(); len(got) != 0 {
		t.Fatalf("empty FullMethods = %v", got)
	}
	if got, want := s.ServiceNames(), []string{"v1.api.auth.AuthService", "test.Echo"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ServiceNames = %v, want %v", got, want)
	}
}

// A hand-written streaming service checks that stream methods are routed too.
type echoer interface{ Echo(grpc.ServerStream) error }

type echoImpl struct{ prefix string }

func (e *echoImpl) Echo(ss grpc.ServerStream) error {
	for {
		in := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(in); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := ss.SendMsg(wrapperspb.String(e.prefix + in.GetValue())); err != nil {
			return err
		}
	}
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*echoer)(nil),
	Streams: []grpc.StreamDesc{
		{StreamName: "Echo", ServerStreams: true, ClientStreams: true,
			Handler: func(srv any, ss grpc.ServerStream) error { return srv.(echoer).Echo(ss) }},
		{StreamName: "Other", ServerStreams: true, ClientStreams: true,
			Handler: func(srv any, ss grpc.ServerStream) error { return srv.(echoer).Echo(ss) }},
	},
}

func TestServicesRouteStreams(t *testing.T) {
	s := NewServices()
	s.Add(&echoDesc, &echoImpl{prefix: "first:"}, "Other")
	s.Add(&echoDesc, &echoImpl{prefix: "second:"}, "Echo")
	srv := grpc.NewServer()
	s.RegisterOn(srv)
	cc := startGRPC(t, srv)
	for method, want := range map[string]string{"Echo": "second:hi", "Other": "first:hi"} {
		st, err := cc.NewStream(callCtx(t), &echoDesc.Streams[0], "/test.Echo/"+method)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SendMsg(wrapperspb.String("hi")); err != nil {
			t.Fatal(err)
		}
		out := new(wrapperspb.StringValue)
		if err := st.RecvMsg(out); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if out.GetValue() != want {
			t.Fatalf("%s answered %q, want %q", method, out.GetValue(), want)
		}
		_ = st.CloseSend()
	}
}
