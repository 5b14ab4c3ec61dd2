package deploy_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	"github.com/oof-gg/platform/pkg/routing"

	// Every extension type that envoy.yaml names in a typed_config ("@type") must be
	// linked in, so that protojson can resolve the google.protobuf.Any values. A type
	// that is not registered here makes the unmarshal fail, exactly like an extension
	// Envoy does not know.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/grpc_web/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
)

const envoyFile = "../envoy.yaml"

const (
	hcmType    = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	corsFilter = "envoy.filters.http.cors"
	h2OptsKey  = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
	catchAll   = "/"
)

// clusterFor is the Envoy cluster that serves the methods owned by a target.
var clusterFor = map[routing.Target]string{
	routing.TargetCommand: "oof_command",
	routing.TargetQuery:   "oof_query",
}

// isStreaming tells which public methods are server/bidi streams. The protos are
// the real source; until a descriptor-based check replaces it, the API's naming
// rule (streams are called Stream*/Watch*) stands in for it.
func isStreaming(method string) bool {
	name := method[strings.LastIndex(method, "/")+1:]
	return strings.HasPrefix(name, "Stream") || strings.HasPrefix(name, "Watch")
}

// envoyConfig is envoy.yaml parsed, validated and with the pieces the tests need
// unpacked from their typed_config.
type envoyConfig struct {
	bootstrap *bootstrapv3.Bootstrap
	hcm       *hcmv3.HttpConnectionManager
	routes    []*routev3.Route
	vhost     *routev3.VirtualHost
	clusters  map[string]*clusterv3.Cluster
}

// parseEnvoy does what `envoy --mode validate` does for the schema part:
// YAML -> JSON -> strict protojson into the v3 Bootstrap (unknown fields, unknown
// enum values and unresolvable typed_config types are errors), then the generated
// protoc-gen-validate rules on the bootstrap and, recursively, on every message
// packed in a google.protobuf.Any (the generated ValidateAll does not look inside
// Any, and most of the config — the whole HTTP connection manager and route table —
// lives there).
func parseEnvoy(raw []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var bs bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, &bs); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := validateDeep(&bs); err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	return &bs, nil
}

type validatorAll interface{ ValidateAll() error }

func validateDeep(m proto.Message) error {
	var errs []error
	if v, ok := m.(validatorAll); ok {
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, err)
		}
	}
	forEachAny(m.ProtoReflect(), func(a *anypb.Any) {
		inner, err := a.UnmarshalNew()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.GetTypeUrl(), err))
			return
		}
		if err := validateDeep(inner); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.GetTypeUrl(), err))
		}
	})
	return errors.Join(errs...)
}

// forEachAny calls fn for every google.protobuf.Any reachable from m without
// crossing another Any (validateDeep recurses into those itself).
func forEachAny(m protoreflect.Message, fn func(*anypb.Any)) {
	visit := func(v protoreflect.Message) {
		if v.Descriptor().FullName() == "google.protobuf.Any" {
			a := &anypb.Any{}
			proto.Merge(a, v.Interface())
			fn(a)
			return
		}
		forEachAny(v, fn)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					visit(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					visit(l.Get(i).Message())
				}
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			visit(v.Message())
		}
		return true
	})
}

// checkEnvoy parses and validates envoy.yaml, then applies the semantic rules
// Envoy (or this project) adds on top of the schema. Every problem found is
// reported, joined into one error.
func checkEnvoy(raw []byte, owners map[string]routing.Target) (*envoyConfig, error) {
	bs, err := parseEnvoy(raw)
	if err != nil {
		return nil, err
	}
	cfg := &envoyConfig{bootstrap: bs, clusters: map[string]*clusterv3.Cluster{}}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for _, c := range bs.GetStaticResources().GetClusters() {
		if _, dup := cfg.clusters[c.GetName()]; dup {
			fail("duplicate cluster %q", c.GetName())
		}
		cfg.clusters[c.GetName()] = c
	}

	// The one HTTP connection manager on the listeners.
	var hcms []*hcmv3.HttpConnectionManager
	for _, l := range bs.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				if f.GetTypedConfig().GetTypeUrl() != hcmType {
					continue
				}
				h := &hcmv3.HttpConnectionManager{}
				if err := f.GetTypedConfig().UnmarshalTo(h); err != nil {
					return nil, err
				}
				hcms = append(hcms, h)
			}
		}
	}
	if len(hcms) != 1 {
		return nil, fmt.Errorf("want exactly one http_connection_manager, got %d", len(hcms))
	}
	cfg.hcm = hcms[0]

	// HTTP filter chain: grpc_web, then cors, router last.
	var filters []string
	for _, f := range cfg.hcm.GetHttpFilters() {
		filters = append(filters, f.GetName())
	}
	iWeb := slices.Index(filters, "envoy.filters.http.grpc_web")
	iCors := slices.Index(filters, corsFilter)
	iRouter := slices.Index(filters, "envoy.filters.http.router")
	switch {
	case iWeb < 0 || iCors < 0 || iRouter < 0:
		fail("http_filters %v: grpc_web, cors and router are all required", filters)
	case iRouter != len(filters)-1:
		fail("http_filters %v: router must be the last filter", filters)
	case iWeb > iCors:
		fail("http_filters %v: grpc_web must precede cors", filters)
	}

	rc := cfg.hcm.GetRouteConfig()
	if rc == nil || len(rc.GetVirtualHosts()) != 1 {
		return nil, errors.Join(append(errs, errors.New("want an inline route_config with exactly one virtual host"))...)
	}
	cfg.vhost = rc.GetVirtualHosts()[0]
	cfg.routes = cfg.vhost.GetRoutes()

	exact := map[string]int{}
	var prefixes []string
	for i, r := range cfg.routes {
		m := r.GetMatch()
		path, prefix := m.GetPath(), m.GetPrefix()
		if path == "" && prefix == "" && m.GetPathSpecifier() != nil {
			fail("route %q: only path and prefix matches are used here", r.GetName())
		}
		if len(m.GetHeaders()) > 0 || len(m.GetQueryParameters()) > 0 || m.GetGrpc() != nil {
			fail("route %q: extra match conditions are not expected", r.GetName())
		}
		// A route after a prefix route that already matches it can never be selected.
		for _, p := range prefixes {
			if (path != "" && strings.HasPrefix(path, p)) || (prefix != "" && strings.HasPrefix(prefix, p)) {
				fail("route %q is shadowed by the earlier prefix route %q (route #%d)", r.GetName(), p, i)
			}
		}
		if prefix != "" {
			prefixes = append(prefixes, prefix)
		}

		if a := r.GetRoute(); a != nil {
			c := a.GetCluster()
			if c == "" {
				fail("route %q: only a plain cluster target is expected", r.GetName())
			} else if _, ok := cfg.clusters[c]; !ok {
				fail("route %q targets unknown cluster %q", r.GetName(), c)
			}
		}
		if path == "" {
			continue
		}
		exact[path]++
		owner, known := owners[path]
		if !known {
			fail("route %q: exact path %q is not in pkg/routing.Owners()", r.GetName(), path)
			continue
		}
		if got, want := r.GetRoute().GetCluster(), clusterFor[owner]; got != want {
			fail("route for %s goes to %q, want %q (owner %s)", path, got, want, owner)
		}
	}
	for m := range owners {
		switch n := exact[m]; {
		case n == 0:
			fail("no route for %s", m)
		case n > 1:
			fail("%s has %d exact-path routes, want 1", m, n)
		}
	}
	if n := len(cfg.routes); n == 0 || cfg.routes[n-1].GetMatch().GetPrefix() != catchAll {
		fail("the last route must be the %q catch-all", catchAll)
	}
	return cfg, errors.Join(errs...)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func loadEnvoy(t *testing.T) *envoyConfig {
	t.Helper()
	cfg, err := checkEnvoy(readFile(t, envoyFile), routing.Owners())
	if err != nil {
		t.Fatalf("%s is not valid:\n%v", envoyFile, err)
	}
	return cfg
}

func TestEnvoyConfigIsValid(t *testing.T) {
	loadEnvoy(t)
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
		t.Error("want an allow_origin_string_match safe_regex")
	}
	split := func(s string) []string {
		var out []string
		for _, h := range strings.Split(s, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(h)))
		}
		return out
	}
	allow, expose := split(p.GetAllowHeaders()), split(p.GetExposeHeaders())
	for _, h := range []string{"content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", "keep-alive"} {
		if !slices.Contains(allow, h) {
			t.Errorf("allow_headers lacks %q", h)
		}
	}
	for _, h := range []string{"grpc-status", "grpc-message", "grpc-status-details-bin"} {
		if !slices.Contains(expose, h) {
			t.Errorf("expose_headers lacks %q", h)
		}
	}
}

func TestEnvoyClusters(t *testing.T) {
	cfg := loadEnvoy(t)
	want := map[string]string{"oof_command": "command", "oof_query": "query"}
	if len(cfg.clusters) != len(want) {
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

// TestEnvoyValidatorRejects proves the checks above are not vacuous: each case
// breaks envoy.yaml in one way and the check must fail for that very reason.
func TestEnvoyValidatorRejects(t *testing.T) {
	good := string(readFile(t, envoyFile))
	loginRoute := `                        - name: "v1.api.auth.AuthService/Login"
                          match: { path: "/v1.api.auth.AuthService/Login" }
                          route: { cluster: oof_command, timeout: 30s, max_stream_duration: { grpc_timeout_header_max: 0s } }
`
	webFilter := `                  - name: envoy.filters.http.grpc_web
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb
`
	corsFilterBlock := `                  - name: envoy.filters.http.cors
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
`
	routerFilter := `                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`
	cases := []struct {
		name     string
		old, new string
		wantErr  string
	}{
		{"typo in a field name", "codec_type: AUTO", "codec_typ: AUTO", `unknown field "codec_typ"`},
		{"typo in a field inside a cluster's typed options", "explicit_http_config:", "explicit_http_cfg:", `unknown field "explicit_http_cfg"`},
		{"unknown typed_config type", "grpc_web.v3.GrpcWeb\n", "grpc_web.v3.GrpcWebb\n", `unable to resolve "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWebb"`},
		{"misspelt extension package", "filters.http.router.v3.Router", "filters.http.routr.v3.Router", `unable to resolve`},
		{"unknown enum value", "type: STRICT_DNS", "type: STRICT_DNZ", `invalid value for enum field type: "STRICT_DNZ"`},
		{"duplicate YAML key", "codec_type: AUTO\n", "codec_type: AUTO\n                codec_type: HTTP2\n", `"codec_type" already set`},
		{"route to a missing cluster", "cluster: oof_command, timeout: 30s", "cluster: oof_comand, timeout: 30s", `targets unknown cluster "oof_comand"`},
		{"port out of range (PGV rule on the bootstrap)", "port_value: 9901", "port_value: 99010", `PortValue: value must be less than or equal to 65535`},
		{"empty stat_prefix (PGV rule inside a typed_config)", "stat_prefix: oof_ingress", `stat_prefix: ""`, `StatPrefix: value length must be at least 1 runes`},
		{"health check without interval", "interval: 5s", "interval: 0s", `Interval: value must be greater than 0s`},
		{"command method routed to query", loginRoute, strings.Replace(loginRoute, "oof_command", "oof_query", 1), `route for /v1.api.auth.AuthService/Login goes to "oof_query", want "oof_command"`},
		{"method without a route", loginRoute, "", `no route for /v1.api.auth.AuthService/Login`},
		{"route for a method not in the table", loginRoute, loginRoute + strings.ReplaceAll(loginRoute, "Login", "Logout"), `"/v1.api.auth.AuthService/Logout" is not in pkg/routing.Owners()`},
		{"method routed twice", loginRoute, loginRoute + loginRoute, `/v1.api.auth.AuthService/Login has 2 exact-path routes`},
		{"router not last", corsFilterBlock + routerFilter, routerFilter + corsFilterBlock, `router must be the last filter`},
		{"cors before grpc_web", webFilter + corsFilterBlock, corsFilterBlock + webFilter, `grpc_web must precede cors`},
		{"prefix route shadowing the catch-all", `match: { prefix: "/grpc.reflection." }`, `match: { prefix: "/" }`, `route "unknown-method" is shadowed by the earlier prefix route "/"`},
		{"catch-all removed", `match: { prefix: "/" }`, `match: { prefix: "/unknown/" }`, `the last route must be the "/" catch-all`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := good
			if !strings.Contains(bad, tc.old) {
				t.Fatalf("mutation target %q not found in %s: update the test", tc.old, envoyFile)
			}
			bad = strings.Replace(bad, tc.old, tc.new, 1)
			_, err := checkEnvoy([]byte(bad), routing.Owners())
			if err == nil {
				t.Fatal("broken config was accepted")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("rejected for the wrong reason:\n got: %v\nwant: ...%s...", err, tc.wantErr)
			}
			t.Logf("rejected as expected: %v", err)
		})
	}
}

// TestEnvoyDeepValidationReachesTypedConfig shows why parseEnvoy validates inside
// every Any: the generated Bootstrap.ValidateAll alone accepts a broken HTTP
// connection manager, because it lives in a typed_config.
func TestEnvoyDeepValidationReachesTypedConfig(t *testing.T) {
	bad := strings.Replace(string(readFile(t, envoyFile)), "stat_prefix: oof_ingress", `stat_prefix: ""`, 1)
	js, err := yaml.YAMLToJSONStrict([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	var bs bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &bs); err != nil {
		t.Fatal(err)
	}
	if err := bs.ValidateAll(); err != nil {
		t.Fatalf("expected the shallow validator to miss the error, got %v", err)
	}
	if _, err := parseEnvoy([]byte(bad)); err == nil || !strings.Contains(err.Error(), "StatPrefix") {
		t.Fatalf("deep validation missed the empty stat_prefix: %v", err)
	}
}
