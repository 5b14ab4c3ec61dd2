package grpcx

import (
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"connectrpc.com/vanguard"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/oof-gg/platform/pkg/cors"
)

// webHandler serves gRPC-Web (HTTP/1.1, for browsers) by translating it to
// gRPC in front of the same *grpc.Server (connectrpc.com/vanguard), so every
// call passes the server's interceptors exactly like a native one. Vanguard
// speaks binary gRPC-Web; the base64 "grpc-web-text" variant, which most
// browser clients send by default, is unwrapped here (webtext.go).
type webHandler struct {
	transcoder *vanguard.Transcoder
	origins    *cors.Policy
}

// maxWebMessage bounds one gRPC-Web message in the translator.
const maxWebMessage = 4 << 20

func newWebHandler(srv *grpc.Server, origins *cors.Policy, log *slog.Logger) (*webHandler, error) {
	names := make([]string, 0, len(srv.GetServiceInfo()))
	for name := range srv.GetServiceInfo() {
		names = append(names, name)
	}
	sort.Strings(names)
	var services []*vanguard.Service
	for _, name := range names {
		// Vanguard needs each service's schema. A service registered from a
		// hand-written ServiceDesc (oofbench's floor) has none: it stays
		// native gRPC only instead of failing the whole server.
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if err != nil || !ok {
			log.Debug("service has no registered descriptor; native gRPC only", "service", name)
			continue
		}
		services = append(services, vanguard.NewServiceWithSchema(sd, srv))
	}
	t, err := vanguard.NewTranscoder(services,
		vanguard.WithDefaultServiceOptions(
			vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
			vanguard.WithTargetCodecs(vanguard.CodecProto),
			// The translator holds a whole message while it reframes it: bound
			// that (its default is 4 GiB). The server's own, smaller limit
			// answers for messages under this.
			vanguard.WithMaxMessageBufferBytes(maxWebMessage),
		),
		vanguard.WithUnknownHandler(http.HandlerFunc(unknownMethod)),
	)
	if err != nil {
		return nil, err
	}
	return &webHandler{transcoder: t, origins: origins}, nil
}

func (h *webHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
		if !h.origins.Allowed(origin) {
			refuseOrigin(w, r)
			return
		}
		if cors.Preflight(r) {
			cors.AnswerPreflight(w, r)
			return
		}
		w = cors.Allow(w, origin)
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case isGRPCWebText(ct):
		serveWebText(h.transcoder, w, r)
	case ct == "application/grpc-web" || strings.HasPrefix(ct, "application/grpc-web+"):
		h.transcoder.ServeHTTP(w, r)
	case strings.HasPrefix(ct, "application/grpc"):
		http.Error(w, "native gRPC needs HTTP/2", http.StatusHTTPVersionNotSupported)
	default:
		http.NotFound(w, r)
	}
}

// sameOrigin reports whether origin is the host the request was sent to: a
// page served from the API's own address is not a cross-origin caller.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && host != "" && strings.EqualFold(u.Host, host)
}

// refuseOrigin answers a call from a page whose origin is not allowed. The
// browser would hide the answer anyway; refusing means the call never runs.
// gRPC-Web clients outside a browser read the status from the headers.
func refuseOrigin(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/grpc-web") {
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Grpc-Status", strconv.Itoa(int(codes.PermissionDenied)))
		w.Header().Set("Grpc-Message", "origin not allowed")
		w.WriteHeader(http.StatusForbidden)
		return
	}
	http.Error(w, "origin not allowed", http.StatusForbidden)
}

// unknownMethod answers a gRPC-Web call to a path no service serves the way
// gRPC does: a trailers-only UNIMPLEMENTED (as Envoy does at the edge).
func unknownMethod(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/grpc-web+proto")
	w.Header().Set("Grpc-Status", strconv.Itoa(int(codes.Unimplemented)))
	// The escaped path is printable ASCII, and its %XX escapes are what
	// grpc-message's percent-encoding means too.
	w.Header().Set("Grpc-Message", "unknown method "+r.URL.EscapedPath())
	w.WriteHeader(http.StatusOK)
}

// NewWebHandler is the gRPC-Web translator in front of srv as an
// http.Handler of its own, for a listener other than Serve's (the admin
// listener's operator console mounts it on the few paths the console
// calls). srv must have all its services registered. Origins are checked
// as on the gRPC port.
func NewWebHandler(srv *grpc.Server, origins *cors.Policy, log *slog.Logger) (http.Handler, error) {
	return newWebHandler(srv, origins, log)
}
