package deploy_test

import (
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	"github.com/oof-gg/platform/pkg/routing"
)

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
