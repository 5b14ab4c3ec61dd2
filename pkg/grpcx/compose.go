// Package grpcx assembles the gRPC server of a target: it lets the command
// and query halves of one service (e.g. AuthService) be implemented by
// different types, and serves gRPC, gRPC-Web and reflection on one port.
package grpcx

import (
	"context"
	"fmt"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Services collects implementations method by method. A service's methods
// may come from several implementations (command side and query side); any
// method nobody registered answers UNIMPLEMENTED.
type Services struct {
	services map[string]*serviceParts
	order    []string
}

type serviceParts struct {
	desc    *grpc.ServiceDesc
	owners  map[string]any // method name -> implementation
	anyImpl any
}

// NewServices returns an empty collection.
func NewServices() *Services { return &Services{services: map[string]*serviceParts{}} }

// Add registers impl for the named methods of desc. impl must implement the
// whole service interface (embed the generated Unimplemented type); only the
// named methods are routed to it.
func (s *Services) Add(desc *grpc.ServiceDesc, impl any, methods ...string) {
	parts, ok := s.services[desc.ServiceName]
	if !ok {
		parts = &serviceParts{desc: desc, owners: map[string]any{}, anyImpl: impl}
		s.services[desc.ServiceName] = parts
		s.order = append(s.order, desc.ServiceName)
	}
	for _, m := range methods {
		if !hasMethod(desc, m) {
			panic(fmt.Sprintf("grpcx: %s has no method %s", desc.ServiceName, m))
		}
		if _, taken := parts.owners[m]; taken {
			panic(fmt.Sprintf("grpcx: %s/%s registered twice", desc.ServiceName, m))
		}
		parts.owners[m] = impl
	}
}

// FullMethods lists "/service/method" of every registered method.
func (s *Services) FullMethods() []string {
	var out []string
	for name, parts := range s.services {
		for m := range parts.owners {
			out = append(out, "/"+name+"/"+m)
		}
	}
	sort.Strings(out)
	return out
}

// ServiceNames lists the services added, in the order they were first added
// (the names a health service reports on).
func (s *Services) ServiceNames() []string { return append([]string(nil), s.order...) }

// RegisterOn installs every service on srv.
func (s *Services) RegisterOn(srv *grpc.Server) {
	for _, name := range s.order {
		parts := s.services[name]
		desc := *parts.desc
		desc.Methods = make([]grpc.MethodDesc, len(parts.desc.Methods))
		for i, md := range parts.desc.Methods {
			desc.Methods[i] = md
			if owner, ok := parts.owners[md.MethodName]; ok {
				desc.Methods[i].Handler = routeUnary(md.Handler, owner)
			} else {
				desc.Methods[i].Handler = unimplementedUnary(desc.ServiceName, md.MethodName)
			}
		}
		desc.Streams = make([]grpc.StreamDesc, len(parts.desc.Streams))
		for i, sd := range parts.desc.Streams {
			desc.Streams[i] = sd
			if owner, ok := parts.owners[sd.StreamName]; ok {
				desc.Streams[i].Handler = routeStream(sd.Handler, owner)
			} else {
				desc.Streams[i].Handler = unimplementedStream(desc.ServiceName, sd.StreamName)
			}
		}
		srv.RegisterService(&desc, parts.anyImpl)
	}
}

// routeUnary calls the generated handler with the owning implementation
// instead of the one the service was registered with.
func routeUnary(h grpc.MethodHandler, owner any) grpc.MethodHandler {
	return func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		return h(owner, ctx, dec, ic)
	}
}

func routeStream(h grpc.StreamHandler, owner any) grpc.StreamHandler {
	return func(_ any, stream grpc.ServerStream) error { return h(owner, stream) }
}

// unimplementedUnary answers a method nobody registered. It still decodes
// the request and runs the interceptors, so authentication applies first.
func unimplementedUnary(service, method string) grpc.MethodHandler {
	return func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		call := func(context.Context, any) (any, error) {
			return nil, status.Errorf(codes.Unimplemented, "method %s not implemented", method)
		}
		if ic == nil {
			return call(ctx, nil)
		}
		return ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/" + service + "/" + method}, call)
	}
}

func unimplementedStream(_, method string) grpc.StreamHandler {
	return func(any, grpc.ServerStream) error {
		return status.Errorf(codes.Unimplemented, "method %s not implemented", method)
	}
}

func hasMethod(desc *grpc.ServiceDesc, name string) bool {
	for _, m := range desc.Methods {
		if m.MethodName == name {
			return true
		}
	}
	for _, st := range desc.Streams {
		if st.StreamName == name {
			return true
		}
	}
	return false
}
