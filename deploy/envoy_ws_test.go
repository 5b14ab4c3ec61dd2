package deploy_test

import (
	"testing"

	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// The web SDK's WebSocket protocol (/ws, query/livews) reaches the stream
// target over HTTP/1.1 with upgrades enabled on that route only, and
// without the timeouts of unary calls.
func TestEnvoyWebSocketRoute(t *testing.T) {
	cfg := loadEnvoy(t)
	for _, u := range cfg.hcm.GetUpgradeConfigs() {
		if u.GetUpgradeType() == "websocket" && (u.GetEnabled() == nil || u.GetEnabled().GetValue()) {
			t.Error("WebSocket upgrades must be off at the connection manager (only the /ws route enables them)")
		}
	}
	found := 0
	for _, r := range cfg.routes {
		a := r.GetRoute()
		enables := false
		for _, u := range a.GetUpgradeConfigs() {
			enables = enables || u.GetUpgradeType() == "websocket" && u.GetEnabled().GetValue()
		}
		if r.GetMatch().GetPrefix() != "/ws" {
			if enables {
				t.Errorf("route %q enables WebSocket upgrades; only /ws may", r.GetName())
			}
			continue
		}
		found++
		if !enables {
			t.Error("the /ws route does not enable WebSocket upgrades")
		}
		if a.GetCluster() != "oof_stream_ws" {
			t.Errorf("/ws goes to %q, want oof_stream_ws", a.GetCluster())
		}
		if a.GetTimeout() == nil || a.GetTimeout().AsDuration() != 0 || a.GetIdleTimeout() == nil || a.GetIdleTimeout().AsDuration() != 0 {
			t.Errorf("/ws: timeout %v, idle_timeout %v; want both 0s (a socket lives as long as a stream)", a.GetTimeout(), a.GetIdleTimeout())
		}
	}
	if found != 1 {
		t.Fatalf("want one route with prefix /ws, got %d", found)
	}

	c := cfg.clusters["oof_stream_ws"]
	if c == nil {
		t.Fatal("no oof_stream_ws cluster")
	}
	eps := c.GetLoadAssignment().GetEndpoints()
	if len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
		t.Fatalf("want one endpoint, got %v", eps)
	}
	ep := eps[0].GetLbEndpoints()[0].GetEndpoint()
	if sa := ep.GetAddress().GetSocketAddress(); sa.GetAddress() != "stream" || sa.GetPortValue() != 8080 {
		t.Errorf("endpoint %s:%d, want stream:8080 (the stream target's gRPC port)", sa.GetAddress(), sa.GetPortValue())
	}
	if a := c.GetTypedExtensionProtocolOptions()[h2OptsKey]; a != nil {
		var po upstreamhttpv3.HttpProtocolOptions
		if err := a.UnmarshalTo(&po); err == nil && po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil {
			t.Error("oof_stream_ws must be HTTP/1.1 upstream: over HTTP/2 Envoy sends WebSockets as extended CONNECT")
		}
	}
	hcs := c.GetHealthChecks()
	if len(hcs) != 1 || hcs[0].GetHttpHealthCheck().GetPath() != "/readyz" || ep.GetHealthCheckConfig().GetPortValue() != 8081 {
		t.Errorf("want an HTTP health check of /readyz on the admin port 8081, got %v (port %d)", hcs, ep.GetHealthCheckConfig().GetPortValue())
	}
}
