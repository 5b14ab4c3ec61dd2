package main

// The floor gRPC service: two methods with no platform code, served by a
// server built like the platform's, so an RPC floor differs from a platform
// RPC only in the handler.

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/grpcx"
)

const (
	floorService    = "oofbench.Floor"
	floorEmptyPath  = "/" + floorService + "/Empty"
	floorReadPath   = "/" + floorService + "/Read"
	floorServeGrace = 5 * time.Second
)

// floorHandler is what the floor service's implementation provides.
type floorHandler interface {
	Empty(context.Context, *emptypb.Empty) (*emptypb.Empty, error)
	Read(context.Context, *wrapperspb.StringValue) (*wrapperspb.BytesValue, error)
}

type floorImpl struct{ pool *pgxpool.Pool }

func (floorImpl) Empty(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Read returns the body of one scratch row by primary key.
func (f floorImpl) Read(ctx context.Context, id *wrapperspb.StringValue) (*wrapperspb.BytesValue, error) {
	var body []byte
	if err := f.pool.QueryRow(ctx, `SELECT body FROM `+floorTable+` WHERE id = $1::uuid`, id.GetValue()).Scan(&body); err != nil {
		return nil, err
	}
	return wrapperspb.Bytes(body), nil
}

// unaryHandler adapts one method the way generated code does: decode, then
// call through the interceptor chain.
func unaryHandler[Req any, Resp any](path string, call func(floorHandler, context.Context, *Req) (*Resp, error)) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		in := new(Req)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, req any) (any, error) { return call(srv.(floorHandler), ctx, req.(*Req)) }
		if ic == nil {
			return h(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: path}, h)
	}
}

var floorDesc = grpc.ServiceDesc{
	ServiceName: floorService,
	HandlerType: (*floorHandler)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Empty", Handler: unaryHandler(floorEmptyPath, floorHandler.Empty)},
		{MethodName: "Read", Handler: unaryHandler(floorReadPath, floorHandler.Read)},
	},
}

// floorClients calls the floor service over -conns connections.
type floorClients struct{ conns []*grpc.ClientConn }

func (f *floorClients) empty(ctx context.Context, worker int) error {
	return f.conns[worker%len(f.conns)].Invoke(ctx, floorEmptyPath, &emptypb.Empty{}, &emptypb.Empty{})
}

// read returns how many bytes the row read had.
func (f *floorClients) read(ctx context.Context, worker int, id string) (int, error) {
	out := new(wrapperspb.BytesValue)
	err := f.conns[worker%len(f.conns)].Invoke(ctx, floorReadPath, wrapperspb.String(id), out)
	return len(out.GetValue()), err
}

// floorServer starts the floor service once (served like the platform, by
// grpcx.Serve) and connects as many clients as the platform scenarios use.
func (b *bench) floorServer(ctx context.Context) (*floorClients, error) {
	pool, err := b.floorPool(ctx)
	if err != nil {
		return nil, err
	}
	b.floorMu.Lock()
	defer b.floorMu.Unlock()
	if b.floor != nil {
		return b.floor, nil
	}
	srv, err := platform.NewBareServer(b.env.Cfg, b.env.Log, func(s *grpcx.Services) {
		s.Add(&floorDesc, floorImpl{pool: pool}, "Empty", "Read")
	})
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := grpcx.Serve(sctx, lis, srv, floorServeGrace, b.env.Log); err != nil {
			b.env.Log.Error("floor server", "err", err)
		}
	}()
	fc := &floorClients{}
	b.closers = append(b.closers, func() {
		for _, c := range fc.conns {
			_ = c.Close()
		}
		stop()
		<-done
	})
	for range b.opts.conns {
		c, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("floor client: %w", err)
		}
		fc.conns = append(fc.conns, c)
	}
	b.floor = fc
	return fc, nil
}
