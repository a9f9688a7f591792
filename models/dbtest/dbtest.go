// Package dbtest gives tests a fresh, migrated database: SQLite in a temp
// folder always, and PostgreSQL (a schema of its own per test) when
// TEST_DATABASE_URL is set.
package dbtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"jianfu/models"
)

// Dialects lists the databases a store test must run on here.
func Dialects() []models.Dialect {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return []models.Dialect{models.SQLite, models.Postgres}
	}
	return []models.Dialect{models.SQLite}
}

// Each runs fn as a subtest on every dialect, each with a fresh database.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, Open(t, d)) })
	}
}

// Open returns a fresh migrated database of dialect d, removed at cleanup.
func Open(tb testing.TB, d models.Dialect) *gorm.DB {
	tb.Helper()
	var db *gorm.DB
	var err error
	switch d {
	case models.Postgres:
		db = openPostgres(tb)
	default:
		db, err = models.Open(filepath.Join(tb.TempDir(), "test.db"))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if s, err := db.DB(); err == nil {
				s.Close()
			}
		})
	}
	if err := models.Migrate(context.Background(), db); err != nil {
		tb.Fatal(err)
	}
	return db
}

func openPostgres(tb testing.TB) *gorm.DB {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		tb.Fatal("TEST_DATABASE_URL is not set")
	}
	admin, err := models.Open(base)
	if err != nil {
		tb.Fatal(err)
	}
	schema := fmt.Sprintf("t_%d_%d", os.Getpid(), rand.Uint64()%1_000_000_000)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := models.Open(u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if s, err := admin.DB(); err == nil {
			s.Close()
		}
	})
	return db
}

// URL returns a database URL for d suitable for a separate process (a
// second server in a test): the SQLite path or the PostgreSQL schema URL.
func URL(db *gorm.DB) string {
	if models.DialectOf(db) == models.Postgres {
		var sp, name string
		db.Raw("SHOW search_path").Scan(&sp)
		db.Raw("SELECT current_database()").Scan(&name)
		u, _ := url.Parse(os.Getenv("TEST_DATABASE_URL"))
		u.Path = "/" + name
		q := u.Query()
		q.Set("search_path", sp)
		u.RawQuery = q.Encode()
		return u.String()
	}
	var file string
	db.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file)
	return file
}
