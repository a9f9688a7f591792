package afterschool

import "jianfu/app"

// handlers are the afterschool area's HTTP handlers over the kernel's dependencies.
type handlers struct {
	app.Deps
	r app.Router
}
