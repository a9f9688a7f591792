package bureau

import "jianfu/app"

// handlers are the bureau area's HTTP handlers over the kernel's dependencies.
type handlers struct {
	app.Deps
	r          app.Router
	dashboards *dashboardCache
}
