// Package areas is the one visible list of the product's parts: the server
// registers each area's routes and home tiles in this order. It is the only
// package that imports the area packages (a test checks that no area imports
// another).
package areas

import (
	"gorm.io/gorm"

	"jianfu/app"
	"jianfu/app/account"
	"jianfu/app/admin"
	"jianfu/app/afterschool"
	"jianfu/app/bureau"
	"jianfu/app/exams"
	"jianfu/app/homework"
)

// All lists every area in registration order (the home tiles follow it).
func All() []app.Area {
	return []app.Area{
		account.Routes,
		homework.Routes,
		afterschool.Routes,
		bureau.Routes,
		admin.Routes,
		exams.Routes,
	}
}

// NewServer builds the server with every area registered.
func NewServer(cfg app.Config, db *gorm.DB) (*app.Server, error) {
	return app.New(cfg, db, All()...)
}
