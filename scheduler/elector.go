package scheduler

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"

	"github.com/go-co-op/gocron/v2"
)

// PGElector is a gocron Elector over PostgreSQL: the leader is the replica
// holding a session-level advisory lock on a connection of its own, kept out
// of the pool for as long as it leads. When the leader dies its session ends,
// PostgreSQL releases the lock, and the next replica to ask takes it. A lock
// taken only for a job's duration would not do: a short job would release it
// and a replica whose clock lags would run the same period again.
type PGElector struct {
	db  *sql.DB
	key int64

	mu   sync.Mutex
	conn *sql.Conn // holds the lock while this replica leads
}

var _ gocron.Elector = (*PGElector)(nil)

// ErrNotLeader is what IsLeader answers on replicas that do not lead.
var ErrNotLeader = errors.New("scheduler: another replica leads")

// NewPGElector elects with advisory lock key on db.
func NewPGElector(db *sql.DB, key int64) *PGElector { return &PGElector{db: db, key: key} }

// IsLeader answers nil when this replica holds (or just took) the lock.
func (e *PGElector) IsLeader(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil {
		if err := e.conn.PingContext(ctx); err == nil {
			return nil
		}
		e.dropLocked() // the session is gone, and the lock with it
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", e.key).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return err
		}
		return ErrNotLeader
	}
	e.conn = conn
	return nil
}

// Leading reports whether this replica currently holds the lock (as far as
// it knows without asking the database).
func (e *PGElector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conn != nil
}

// BackendPID is the PostgreSQL backend of the leading connection (0 when not
// leading); tests terminate it to simulate a dead leader.
func (e *PGElector) BackendPID(ctx context.Context) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return 0
	}
	var pid int
	_ = e.conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	return pid
}

// dropLocked discards the leading connection without returning it to the pool.
func (e *PGElector) dropLocked() {
	_ = e.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = e.conn.Close()
	e.conn = nil
}

// Resign releases the lock (on shutdown) so another replica leads at once.
func (e *PGElector) Resign(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return
	}
	_, _ = e.conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", e.key)
	e.dropLocked()
}
