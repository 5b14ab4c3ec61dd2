package deploy_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
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
	routing.TargetStream:  "oof_stream",
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
