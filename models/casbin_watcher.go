package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// PolicyWatcher is a Casbin persist.Watcher over PostgreSQL LISTEN/NOTIFY: a
// replica that changes the policy NOTIFYs, every other replica reloads it.
//
// It listens on a dedicated pgx connection (LISTEN needs a session of its
// own: not a pooled connection, not a transaction-mode pooler). When that
// connection drops it reconnects with backoff and reloads the policy once
// reconnected, because a notice sent meanwhile was lost. A replica ignores its
// own notices (its enforcer already holds the change), and a burst of notices
// coalesces into at most one reload running plus one pending.
//
// The channel is named after the schema, so deployments (and parallel test
// schemas) sharing one database do not wake each other.
type PolicyWatcher struct {
	db      *gorm.DB // sends NOTIFY through the ordinary pool
	cfg     *pgx.ConnConfig
	channel string
	origin  string // this replica's id, the payload of its own notices

	mu       sync.Mutex
	callback func(string)

	pending    chan struct{} // capacity 1: "reload needed"
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	closeOnce  sync.Once
	reloads    atomic.Int64
	reconnects atomic.Int64
}

// Backoff bounds between reconnect attempts of the listener.
const (
	watcherMinBackoff = 100 * time.Millisecond
	watcherMaxBackoff = 10 * time.Second
	// watcherSettle is how long a reload waits for more notices of the same
	// burst (an import granting 500 roles reloads a few times, not 500).
	watcherSettle = 50 * time.Millisecond
)

var notChannelChar = regexp.MustCompile(`[^a-z0-9_]`)

// NewPolicyWatcher connects the listener of db's PostgreSQL database and
// schema and starts listening. The first connection is made before it
// returns, so a caller that loads the policy afterwards misses nothing.
func NewPolicyWatcher(ctx context.Context, db *gorm.DB) (*PolicyWatcher, error) {
	dsn := postgresDSN(db)
	if dsn == "" {
		return nil, errors.New("policy watcher: not a PostgreSQL database opened from a URL")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("policy watcher: %w", err)
	}
	// Notice a dead peer within about half a minute, not the kernel's two hours.
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}}
	cfg.DialFunc = d.DialContext
	var schema string
	if err := db.WithContext(ctx).Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
		return nil, fmt.Errorf("policy watcher: %w", err)
	}
	channel := "jianfu_casbin_" + notChannelChar.ReplaceAllString(schema, "_")
	if len(channel) > 63 {
		channel = channel[:63]
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	w := &PolicyWatcher{db: db, cfg: cfg, channel: channel, origin: hex.EncodeToString(id), pending: make(chan struct{}, 1)}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := w.connect(cctx)
	cancel()
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	w.cancel = stop
	w.wg.Add(2)
	go w.listen(runCtx, conn)
	go w.reload(runCtx)
	return w, nil
}

func postgresDSN(db *gorm.DB) string {
	switch d := db.Dialector.(type) {
	case *postgres.Dialector:
		return d.DSN
	case postgres.Dialector:
		return d.DSN
	}
	return ""
}

// Channel is the NOTIFY channel this watcher uses.
func (w *PolicyWatcher) Channel() string { return w.channel }

// Reloads counts the policy reloads this watcher started.
func (w *PolicyWatcher) Reloads() int64 { return w.reloads.Load() }

// Reconnects counts the times the listener connection was re-established.
func (w *PolicyWatcher) Reconnects() int64 { return w.reconnects.Load() }

// SetUpdateCallback sets what runs when another replica changed the policy
// (Authorizer sets the synchronized LoadPolicy).
func (w *PolicyWatcher) SetUpdateCallback(fn func(string)) error {
	w.mu.Lock()
	w.callback = fn
	w.mu.Unlock()
	return nil
}

// Update tells the other replicas that the policy changed. Casbin calls it
// after each change it wrote through the adapter, holding the enforcer's
// lock: it must not wait on this watcher's listener.
func (w *PolicyWatcher) Update() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.db.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", w.channel, w.origin).Error
}

// Close stops listening and waits for the watcher's goroutines to end.
func (w *PolicyWatcher) Close() {
	w.closeOnce.Do(func() {
		w.cancel()
		w.wg.Wait()
	})
}

func (w *PolicyWatcher) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, w.cfg)
	if err != nil {
		return nil, fmt.Errorf("policy watcher connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{w.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("policy watcher listen: %w", err)
	}
	return conn, nil
}

// listen waits for notices on conn; when it fails, it reconnects with
// exponential backoff and asks for a reload once listening again.
func (w *PolicyWatcher) listen(ctx context.Context, conn *pgx.Conn) {
	defer w.wg.Done()
	defer func() {
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			conn.Close(cctx)
			cancel()
		}
	}()
	backoff := watcherMinBackoff
	for {
		if conn == nil {
			c, err := w.connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				slog.Warn("casbin watcher: reconnect failed", "err", err, "retry_in", backoff.String())
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, watcherMaxBackoff)
				continue
			}
			conn, backoff = c, watcherMinBackoff
			w.reconnects.Add(1)
			slog.Info("casbin watcher: listening again; reloading the policy")
			w.signal() // a notice may have been sent while we were away
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			slog.Warn("casbin watcher: connection lost", "err", err)
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			conn.Close(cctx)
			cancel()
			conn = nil
			continue
		}
		if n.Payload == w.origin {
			continue // our own change: the local enforcer has it already
		}
		w.signal()
	}
}

// signal marks a reload as needed; a reload already pending absorbs it.
func (w *PolicyWatcher) signal() {
	select {
	case w.pending <- struct{}{}:
	default:
	}
}

func (w *PolicyWatcher) reload(ctx context.Context) {
	defer w.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.pending:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(watcherSettle):
		}
		select { // what arrived while settling is covered by this reload
		case <-w.pending:
		default:
		}
		w.mu.Lock()
		fn := w.callback
		w.mu.Unlock()
		if fn != nil {
			w.reloads.Add(1) // counted first: whoever sees the reload's effect sees the count
			fn(w.channel)
		}
	}
}
