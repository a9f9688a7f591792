package exams

import "jianfu/app"

// handlers are the exams area's HTTP handlers over the kernel's dependencies.
type handlers struct {
	app.Deps
	r app.Router
}
