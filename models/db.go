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
	"strconv"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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

// Options tune the connection pool and the database-side timeouts. A zero
// field takes its default; a negative duration turns that timeout off (the
// migrate and seed commands, whose statements may run long).
type Options struct {
	// PoolSize is the most connections this process opens (DB_POOL_SIZE).
	// Sizing: replicas × (PoolSize + 2) ≤ max_connections −
	// superuser_reserved_connections − what other clients need; the 2 are the
	// policy watcher's LISTEN connection and the scheduler elector's.
	PoolSize int
	// StatementTimeout ends any statement running longer (DB_STATEMENT_TIMEOUT).
	StatementTimeout time.Duration
	// LockTimeout ends a wait for a row or table lock (DB_LOCK_TIMEOUT): a
	// long-held lock fails one request with 503 instead of freezing a replica.
	LockTimeout time.Duration
	// IdleInTxTimeout ends a session left idle inside a transaction.
	IdleInTxTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultPoolSize         = 20
	DefaultStatementTimeout = 10 * time.Second
	DefaultLockTimeout      = 3 * time.Second
	DefaultIdleInTxTimeout  = 30 * time.Second
)

func (o Options) withDefaults() Options {
	if o.PoolSize <= 0 {
		o.PoolSize = DefaultPoolSize
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.IdleInTxTimeout == 0 {
		o.IdleInTxTimeout = DefaultIdleInTxTimeout
	}
	return o
}

func ms(d time.Duration) string {
	if d < 0 {
		return "0" // off
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// Open connects to the database named by url with the default Options.
func Open(url string) (*gorm.DB, error) { return OpenWith(url, Options{}) }

// OpenWith connects to the database named by url: a postgres:// URL for
// PostgreSQL, otherwise a SQLite file path ("" means DefaultSQLitePath).
// On PostgreSQL the pool's sessions carry statement_timeout, lock_timeout and
// idle_in_transaction_session_timeout (a setting already in the URL wins); the
// URL itself is left as it is for the dedicated watcher and elector
// connections, which wait on purpose.
func OpenWith(url string, o Options) (*gorm.DB, error) {
	o = o.withDefaults()
	cfg := &gorm.Config{
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		Logger:         logger.Discard,
	}
	if IsPostgresURL(url) {
		pc, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		for k, v := range map[string]string{"statement_timeout": ms(o.StatementTimeout), "lock_timeout": ms(o.LockTimeout),
			"idle_in_transaction_session_timeout": ms(o.IdleInTxTimeout)} {
			if _, set := pc.RuntimeParams[k]; !set {
				pc.RuntimeParams[k] = v
			}
		}
		sqlDB := stdlib.OpenDB(*pc)
		db, err := gorm.Open(postgres.New(postgres.Config{DSN: url, Conn: sqlDB}), cfg)
		if err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB.SetMaxOpenConns(o.PoolSize)
		sqlDB.SetMaxIdleConns(max(o.PoolSize/2, 1))
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		// A connection broken by a database restart is dropped on first use
		// (database/sql retries driver.ErrBadConn); ConnMaxLifetime bounds
		// the rest.
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
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
	busy := o.LockTimeout
	if busy < 0 {
		busy = time.Minute
	}
	if busy < 5*time.Second {
		// SQLite has one writer: a writer waits for the one before it, which
		// under a burst is longer than a PostgreSQL row lock.
		busy = 5 * time.Second
	}
	// _txlock=immediate takes the write lock at BEGIN, so a read-check-write
	// transaction (a cap check, a capacity check) is serialized on SQLite.
	dsn := path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(" + ms(busy) + ")&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
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
// When the request carries an Idempotency-Key (WithIdempotency), the first
// top-level transaction writes the key too, so the key and the record commit
// together.
func Tx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	c := claimOf(ctx)
	if c == nil || inTransaction(db) || !c.bind() {
		return db.WithContext(ctx).Transaction(fn)
	}
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := c.insert(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
	c.done(err == nil)
	return err
}
