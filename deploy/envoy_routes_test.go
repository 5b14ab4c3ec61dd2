package deploy_test

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/oof-gg/platform/pkg/routing"
)

// isStreaming tells which public methods are server/bidi streams. The protos are
// the real source; until a descriptor-based check replaces it, the API's naming
// rule (streams are called Stream*/Watch*) stands in for it, plus the
// operator API's one server stream (oof.ops.v1 ReplayMatch).
func isStreaming(method string) bool {
	name := method[strings.LastIndex(method, "/")+1:]
	return strings.HasPrefix(name, "Stream") || strings.HasPrefix(name, "Watch") || strings.HasSuffix(method, "oof.ops.v1.OpsService/ReplayMatch")
}

func TestEnvoyRoutesFollowRoutingTable(t *testing.T) {
	cfg := loadEnvoy(t)
	byPath := map[string][]*routev3.Route{}
	for _, r := range cfg.routes {
		if p := r.GetMatch().GetPath(); p != "" {
			byPath[p] = append(byPath[p], r)
		}
	}
	owners := routing.Owners()
	methods := make([]string, 0, len(owners))
	for m := range owners {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for _, m := range methods {
		t.Run(m, func(t *testing.T) {
			rs := byPath[m]
			if len(rs) != 1 {
				t.Fatalf("want exactly one exact-path route, got %d", len(rs))
			}
			if got, want := rs[0].GetRoute().GetCluster(), clusterFor[owners[m]]; got != want {
				t.Errorf("cluster = %q, want %q (owner %s)", got, want, owners[m])
			}
		})
	}
	for p := range byPath {
		if _, ok := owners[p]; !ok {
			t.Errorf("route for %s: method is not in pkg/routing.Owners()", p)
		}
	}
}

func TestEnvoyRouteTimeouts(t *testing.T) {
	cfg := loadEnvoy(t)
	for _, r := range cfg.routes {
		a := r.GetRoute()
		if a == nil {
			continue
		}
		t.Run(r.GetName(), func(t *testing.T) {
			if a.GetMaxStreamDuration().GetGrpcTimeoutHeaderMax() == nil {
				t.Error("max_stream_duration.grpc_timeout_header_max must be set so client deadlines (grpc-timeout) apply")
			}
			p := r.GetMatch().GetPath()
			streaming := (p != "" && isStreaming(p)) || r.GetMatch().GetPrefix() != ""
			if !streaming {
				if a.GetTimeout() == nil || a.GetTimeout().AsDuration() <= 0 {
					t.Errorf("unary route: want a positive default timeout, got %v", a.GetTimeout())
				}
				return
			}
			if a.GetTimeout() == nil || a.GetTimeout().AsDuration() != 0 {
				t.Errorf("streaming route: timeout = %v, want 0s (disabled)", a.GetTimeout())
			}
			if a.GetIdleTimeout() == nil || a.GetIdleTimeout().AsDuration() != 0 {
				t.Errorf("streaming route: idle_timeout = %v, want 0s (disabled)", a.GetIdleTimeout())
			}
		})
	}
}

func TestEnvoyStandardServicesAndCatchAll(t *testing.T) {
	cfg := loadEnvoy(t)
	want := map[string]string{
		"/grpc.health.v1.Health/": "oof_query",
		"/grpc.reflection.":       "oof_query",
	}
	for _, r := range cfg.routes {
		if p := r.GetMatch().GetPrefix(); want[p] != "" {
			if got := r.GetRoute().GetCluster(); got != want[p] {
				t.Errorf("prefix %s -> %q, want %q", p, got, want[p])
			}
			delete(want, p)
		}
	}
	for p := range want {
		t.Errorf("no prefix route for %s", p)
	}
	last := cfg.routes[len(cfg.routes)-1]
	dr := last.GetDirectResponse()
	if last.GetMatch().GetPrefix() != catchAll || dr == nil || dr.GetStatus() != 404 {
		t.Fatalf("last route must answer every other path with a direct 404 (gRPC: UNIMPLEMENTED), got %v", last)
	}
}

func TestEnvoyListenerAndFilters(t *testing.T) {
	cfg := loadEnvoy(t)
	ls := cfg.bootstrap.GetStaticResources().GetListeners()
	if len(ls) != 1 {
		t.Fatalf("want 1 listener, got %d", len(ls))
	}
	sa := ls[0].GetAddress().GetSocketAddress()
	if sa.GetAddress() != "0.0.0.0" || sa.GetPortValue() != 8080 {
		t.Errorf("listener on %s:%d, want 0.0.0.0:8080", sa.GetAddress(), sa.GetPortValue())
	}
	if got := cfg.hcm.GetCodecType(); got != hcmv3.HttpConnectionManager_AUTO {
		t.Errorf("codec_type = %v, want AUTO (HTTP/1.1 gRPC-Web and h2c gRPC)", got)
	}
	var names []string
	for _, f := range cfg.hcm.GetHttpFilters() {
		names = append(names, f.GetName())
	}
	if want := []string{"envoy.filters.http.grpc_web", corsFilter, "envoy.filters.http.router"}; !slices.Equal(names, want) {
		t.Errorf("http_filters = %v, want %v", names, want)
	}
	admin := cfg.bootstrap.GetAdmin().GetAddress().GetSocketAddress()
	if admin.GetAddress() != "127.0.0.1" || admin.GetPortValue() != 9901 {
		t.Errorf("admin on %s:%d, want 127.0.0.1:9901", admin.GetAddress(), admin.GetPortValue())
	}
}

// The services trust x-envoy-external-address for rate limiting
// (OOF_TRUST_PROXY_HEADERS=true in compose.yaml), so Envoy must overwrite it
// with the real peer address on every request.
func TestEnvoyOverwritesClientAddressHeader(t *testing.T) {
	cfg := loadEnvoy(t)
	for _, h := range cfg.hcm.GetRouteConfig().GetRequestHeadersToAdd() {
		if h.GetHeader().GetKey() == "x-envoy-external-address" {
			if h.GetHeader().GetValue() != "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" ||
				h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
				t.Fatalf("x-envoy-external-address must be overwritten with the peer address, got %v", h)
			}
			return
		}
	}
	t.Fatal("route_config does not set x-envoy-external-address")
}

func TestEnvoyCORS(t *testing.T) {
	cfg := loadEnvoy(t)
	anyPolicy := cfg.vhost.GetTypedPerFilterConfig()[corsFilter]
	if anyPolicy == nil {
		t.Fatalf("virtual host has no typed_per_filter_config[%q]", corsFilter)
	}
	var p corsv3.CorsPolicy
	if err := anyPolicy.UnmarshalTo(&p); err != nil {
		t.Fatal(err)
	}
	if len(p.GetAllowOriginStringMatch()) == 0 || p.GetAllowOriginStringMatch()[0].GetSafeRegex().GetRegex() == "" {
		t.Fatal("want an allow_origin_string_match safe_regex")
	}
	// The default matches the oof binary's (OOF_CORS_ALLOWED_ORIGINS=loopback).
	// Envoy's safe_regex is RE2, as Go's regexp.
	origin := regexp.MustCompile(p.GetAllowOriginStringMatch()[0].GetSafeRegex().GetRegex())
	for o, want := range map[string]bool{
		"http://localhost:5173": true, "https://127.0.0.1": true, "http://[::1]:8080": true,
		"https://play.oof.gg": false, "http://localhost.evil.example": false, "http://127.0.0.1.evil.example": false, "null": false,
	} {
		if origin.MatchString(o) != want {
			t.Errorf("origin %q allowed = %v, want %v", o, !want, want)
		}
	}
	split := func(s string) []string {
		var out []string
		for _, h := range strings.Split(s, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(h)))
		}
		return out
	}
	allow, expose := split(p.GetAllowHeaders()), split(p.GetExposeHeaders())
	for _, h := range []string{"content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", "keep-alive",
		"idempotency-key", "x-oof-expected-version", "traceparent"} {
		if !slices.Contains(allow, h) {
			t.Errorf("allow_headers lacks %q", h)
		}
	}
	for _, h := range []string{"grpc-status", "grpc-message", "grpc-status-details-bin", "x-oof-version", "x-oof-consistency", "x-oof-idempotent-replay"} {
		if !slices.Contains(expose, h) {
			t.Errorf("expose_headers lacks %q", h)
		}
	}
}

func TestEnvoyClusters(t *testing.T) {
	cfg := loadEnvoy(t)
	want := map[string]string{"oof_command": "command", "oof_query": "query", "oof_stream": "stream"}
	// oof_stream_ws (HTTP/1.1, for WebSockets) is checked by TestEnvoyWebSocketRoute.
	if len(cfg.clusters) != len(want)+1 {
		t.Errorf("clusters %v, want exactly %v", keys(cfg.clusters), want)
	}
	for name, host := range want {
		t.Run(name, func(t *testing.T) {
			c := cfg.clusters[name]
			if c == nil {
				t.Fatal("cluster missing")
			}
			if c.GetType() != clusterv3.Cluster_STRICT_DNS {
				t.Errorf("type = %v, want STRICT_DNS", c.GetType())
			}
			eps := c.GetLoadAssignment().GetEndpoints()
			if len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
				t.Fatalf("want one endpoint, got %v", eps)
			}
			sa := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
			if sa.GetAddress() != host || sa.GetPortValue() != 8080 {
				t.Errorf("endpoint %s:%d, want %s:8080", sa.GetAddress(), sa.GetPortValue(), host)
			}
			var po upstreamhttpv3.HttpProtocolOptions
			if a := c.GetTypedExtensionProtocolOptions()[h2OptsKey]; a == nil {
				t.Errorf("no typed_extension_protocol_options[%q]", h2OptsKey)
			} else if err := a.UnmarshalTo(&po); err != nil {
				t.Error(err)
			} else if po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
				t.Error("upstream protocol is not explicit HTTP/2 (gRPC needs h2)")
			}
			hcs := c.GetHealthChecks()
			if len(hcs) != 1 || hcs[0].GetGrpcHealthCheck() == nil {
				t.Fatalf("want one grpc_health_check, got %v", hcs)
			}
			if iv := hcs[0].GetInterval().AsDuration(); iv <= 0 || iv > 60e9 {
				t.Errorf("health check interval %v is not sane", iv)
			}
			if to := hcs[0].GetTimeout().AsDuration(); to <= 0 || to >= hcs[0].GetInterval().AsDuration() {
				t.Errorf("health check timeout %v must be positive and below the interval", to)
			}
			th := c.GetCircuitBreakers().GetThresholds()
			if len(th) == 0 || th[0].GetMaxRequests() == nil || th[0].GetMaxConnections() == nil {
				t.Errorf("want circuit breaker thresholds with max_requests and max_connections, got %v", th)
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
