package models_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// Every field of every model has its column, on each database.
func TestEveryModelFieldHasItsColumn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		for _, m := range models.All {
			stmt := &gorm.Statement{DB: db}
			if err := stmt.Parse(m); err != nil {
				t.Fatal(err)
			}
			if !db.Migrator().HasTable(m) {
				t.Errorf("table %s missing", stmt.Schema.Table)
				continue
			}
			for _, f := range stmt.Schema.Fields {
				if f.DBName == "" || f.IgnoreMigration {
					continue
				}
				if !db.Migrator().HasColumn(m, f.DBName) {
					t.Errorf("%s.%s has no column", stmt.Schema.Table, f.DBName)
				}
			}
		}
	})
}

// Migrations are all applied and a second run changes nothing.
func TestMigrationsIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := models.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		st, err := models.MigrationsStatus(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 {
			t.Fatal("no migrations found")
		}
		for _, s := range st {
			if !s.Applied {
				t.Errorf("migration %d (%s) not applied", s.Version, s.File)
			}
		}
	})
}
