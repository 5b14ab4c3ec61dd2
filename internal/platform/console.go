package platform

import (
	"net/http"

	"github.com/oof-gg/platform/pkg/console"
	"github.com/oof-gg/platform/pkg/grpcx"
)

// mountConsole serves the operator console on the admin listener: its
// static page under /console/, and gRPC-Web for the few RPCs it calls
// (console.Methods), translated to this process's gRPC server exactly as
// on the gRPC port, interceptors included. The page then calls its own
// origin: nothing else has to be reachable from the operator's browser,
// and no CORS is involved. A target that does not serve the operator API
// (it is the command target's, pkg/routing) answers those calls
// UNIMPLEMENTED, which the page reports.
func (p *Platform) mountConsole(mux *http.ServeMux) error {
	web, err := grpcx.NewWebHandler(p.server, p.origins, p.log)
	if err != nil {
		return err
	}
	for _, m := range console.Methods {
		mux.Handle("POST "+m, web)
		mux.Handle("OPTIONS "+m, web) // CORS preflight of a page from an allowed origin
	}
	page := console.Handler()
	mux.Handle("GET /console", page)
	mux.Handle("GET "+console.Prefix, page)
	return nil
}
