package models

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Replica sends the reads that may lag a little — dashboards, exports,
// reports — to a PostgreSQL streaming-replication standby
// (DATABASE_REPLICA_URL), and everything else to the primary. Writes, and
// any read that must see the caller's own write, never use it. While the
// standby is down (a health check every ReplicaCheckInterval, or a failed
// read) reads go to the primary; they return to the standby once it answers
// again as a server in recovery.
type Replica struct {
	primary *gorm.DB
	standby *gorm.DB // nil: no standby configured
	up      atomic.Bool
	stop    chan struct{}
	once    sync.Once
	done    chan struct{}
}

// ReplicaCheckInterval is how often the standby's health is checked.
const ReplicaCheckInterval = 2 * time.Second

// OpenReplica connects to the standby at url (empty: none; every read goes
// to primary) and starts its health check. The standby is not migrated: it
// replays the primary's schema.
func OpenReplica(primary *gorm.DB, url string, every time.Duration) (*Replica, error) {
	r := &Replica{primary: primary, stop: make(chan struct{}), done: make(chan struct{})}
	if url == "" {
		close(r.done)
		return r, nil
	}
	if !IsPostgresURL(url) {
		return nil, errors.New("DATABASE_REPLICA_URL must be a postgres:// URL of a streaming standby")
	}
	db, err := Open(url)
	if err != nil {
		return nil, err
	}
	r.standby = db
	r.Check(context.Background())
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.Check(context.Background())
			}
		}
	}()
	return r, nil
}

// Check asks the standby whether it is up and in recovery (a standby, not a
// promoted or unrelated server) and records the answer.
func (r *Replica) Check(ctx context.Context) bool {
	if r.standby == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var inRecovery bool
	err := r.standby.WithContext(ctx).Raw("SELECT pg_is_in_recovery()").Scan(&inRecovery).Error
	ok := err == nil && inRecovery
	if was := r.up.Swap(ok); was != ok {
		slog.Info("read replica", "up", ok, "err", err)
	}
	return ok
}

// Up reports whether reads currently go to the standby.
func (r *Replica) Up() bool { return r.standby != nil && r.up.Load() }

// Reader is the database for a read that may lag: the standby while it is
// up, else the primary.
func (r *Replica) Reader() *gorm.DB {
	if r.Up() {
		return r.standby
	}
	return r.primary
}

// Read runs fn against Reader; when it fails on the standby because the
// standby went away, the standby is marked down and fn runs again on the
// primary, so a dying standby costs a retry, not an error.
func (r *Replica) Read(ctx context.Context, fn func(db *gorm.DB) error) error {
	db := r.Reader()
	err := fn(db.WithContext(ctx))
	if err == nil || db == r.primary || ctx.Err() != nil {
		return err
	}
	var e *Error
	if errors.As(err, &e) || errors.Is(err, ErrNotFound) {
		return err // an answer, not a failure of the standby
	}
	if r.Check(ctx) {
		return err
	}
	return fn(r.primary.WithContext(ctx))
}

// Close stops the health check and closes the standby's connections.
func (r *Replica) Close() {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		if r.standby != nil {
			if s, err := r.standby.DB(); err == nil {
				s.Close()
			}
		}
	})
}
