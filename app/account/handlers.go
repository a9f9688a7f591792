package account

import "jianfu/app"

// handlers are the account area's HTTP handlers over the kernel's dependencies.
type handlers struct {
	app.Deps
	r app.Router
}
