// Package models holds the GORM entities, their queries and transactions, and
// the versioned migrations for PostgreSQL and SQLite. It imports no echo and no
// gocron; the rules it enforces come from package policies.
package models

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed migrations
var migrationsFS embed.FS

// DefaultSQLitePath is where the embedded database lives without DATABASE_URL.
const DefaultSQLitePath = "data/jianfu.db"

// Dialect names the database behind a *gorm.DB.
type Dialect string

// The two dialects Jianfu runs on.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DialectOf tells which database db talks to.
func DialectOf(db *gorm.DB) Dialect {
	if db.Dialector.Name() == "postgres" {
		return Postgres
	}
	return SQLite
}

// IsPostgresURL reports whether url names a PostgreSQL database.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Open connects to the database named by url: a postgres:// URL for
// PostgreSQL, otherwise a SQLite file path ("" means DefaultSQLitePath).
func Open(url string) (*gorm.DB, error) {
	cfg := &gorm.Config{
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		Logger:         logger.Discard,
	}
	if IsPostgresURL(url) {
		db, err := gorm.Open(postgres.Open(url), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(40)
		sqlDB.SetMaxIdleConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		return db, nil
	}
	path := strings.TrimPrefix(url, "sqlite://")
	if path == "" {
		path = DefaultSQLitePath
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	// _txlock=immediate takes the write lock at BEGIN, so a read-check-write
	// transaction (a cap check, a capacity check) is serialized on SQLite.
	dsn := path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(8)
	return db, nil
}

func provider(db *gorm.DB) (*goose.Provider, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	return newProvider(sqlDB, DialectOf(db))
}

func newProvider(sqlDB *sql.DB, d Dialect) (*goose.Provider, error) {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if d == Postgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, sqlDB, sub)
}

// Migrate applies every pending migration.
func Migrate(ctx context.Context, db *gorm.DB) error {
	p, err := provider(db)
	if err != nil {
		return err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		slog.Info("migration applied", "version", r.Source.Version, "file", filepath.Base(r.Source.Path), "ms", r.Duration.Milliseconds())
	}
	return EnsureIndicatorTriggers(ctx, db)
}

// MigrationStatus describes one migration for `migrate status`.
type MigrationStatus struct {
	Version int64
	File    string
	Applied bool
	At      time.Time
}

// MigrationsStatus lists every known migration and whether it is applied.
func MigrationsStatus(ctx context.Context, db *gorm.DB) ([]MigrationStatus, error) {
	p, err := provider(db)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{Version: s.Source.Version, File: filepath.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied, At: s.AppliedAt})
	}
	return out, nil
}

// Tx runs fn in a transaction on db (which may itself be a transaction).
func Tx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return db.WithContext(ctx).Transaction(fn)
}
