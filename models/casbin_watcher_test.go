package models_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// eventually polls cond every 20 ms until it holds or the bound passes: a
// bounded wait for another goroutine's work, not a timing assertion.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// twoReplicas opens two Authorizers over two connection pools on the same
// PostgreSQL schema, as two replicas of the server would.
func twoReplicas(t *testing.T) (db *gorm.DB, a, b *models.Authorizer) {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("the watcher is PostgreSQL only: set TEST_DATABASE_URL")
	}
	db = dbtest.Open(t, models.Postgres)
	db2, err := models.Open(dbtest.URL(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db2.DB(); err == nil {
			s.Close()
		}
	})
	if a, err = models.NewAuthorizer(db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if b, err = models.NewAuthorizer(db2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if a.Watcher == nil || b.Watcher == nil {
		t.Fatal("no watcher on PostgreSQL")
	}
	return db, a, b
}

func hasGrant(az *models.Authorizer, userID int64, g models.Grant) bool {
	gs, err := az.GrantsOf(userID)
	return err == nil && slices.Contains(gs, g)
}

func TestPolicyWatcherSpreadsGrants(t *testing.T) {
	_, a, b := twoReplicas(t)
	ctx := context.Background()
	g := models.Grant{Role: "principal", Domain: "school:42"}

	if err := a.Grant(ctx, 7, g.Role, g.Domain); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "grant made on A reaches B", func() bool { return hasGrant(b, 7, g) })
	if ok, _, _ := b.Allowed(ctx, 7, models.Target{}, "service", "write"); ok {
		t.Fatal("a grant on school:42 must not reach the empty target")
	}

	// B's own change goes back to A; A ignored its own notice before this
	// one (notices arrive in commit order), so A reloaded exactly once.
	g2 := models.Grant{Role: "teacher", Domain: "school:42"}
	if err := b.Grant(ctx, 8, g2.Role, g2.Domain); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "grant made on B reaches A", func() bool { return hasGrant(a, 8, g2) })
	if n := a.Watcher.Reloads(); n != 1 {
		t.Errorf("A reloaded %d times, want 1 (its own notice must not reload it)", n)
	}

	if err := a.Revoke(ctx, 7, g.Role, g.Domain); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "revoke made on A reaches B", func() bool { return !hasGrant(b, 7, g) })
}

// A burst of notices costs a replica one or two reloads, not one per
// notice: 40 notices committed together arrive together.
func TestPolicyWatcherCoalescesBursts(t *testing.T) {
	db, a, b := twoReplicas(t)
	const n = 40
	err := db.Transaction(func(tx *gorm.DB) error {
		for i := 0; i < n; i++ {
			if err := tx.Exec("SELECT pg_notify(?, ?)", a.Watcher.Channel(), fmt.Sprintf("elsewhere-%d", i)).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "B reloads", func() bool { return b.Watcher.Reloads() >= 1 })
	time.Sleep(300 * time.Millisecond) // let any further reload happen before counting
	if r := b.Watcher.Reloads(); r > 3 {
		t.Errorf("B reloaded %d times for one burst of %d notices", r, n)
	}
	t.Logf("%d notices, %d reloads on B, %d on A", n, b.Watcher.Reloads(), a.Watcher.Reloads())
}

// When the listening connection dies, the watcher reconnects and reloads,
// so a grant made while it was away still arrives.
func TestPolicyWatcherReconnects(t *testing.T) {
	db, a, b := twoReplicas(t)
	ctx := context.Background()
	listeners := func() []int64 {
		var pids []int64
		db.Raw("SELECT pid FROM pg_stat_activity WHERE query = ? AND pid <> pg_backend_pid()",
			`LISTEN "`+b.Watcher.Channel()+`"`).Scan(&pids)
		return pids
	}
	eventually(t, 5*time.Second, "two listeners visible", func() bool { return len(listeners()) == 2 })
	// Kill both listeners (we cannot tell which is B's), then grant at once.
	for _, pid := range listeners() {
		if err := db.Exec("SELECT pg_terminate_backend(?)", pid).Error; err != nil {
			t.Fatal(err)
		}
	}
	g := models.Grant{Role: "academic", Domain: "school:9"}
	if err := a.Grant(ctx, 77, g.Role, g.Domain); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "B reconnected", func() bool { return b.Watcher.Reconnects() >= 1 })
	eventually(t, 5*time.Second, "grant made while B was away reaches B", func() bool { return hasGrant(b, 77, g) })
}

// Close stops the goroutines and drops the listening connection.
func TestPolicyWatcherClose(t *testing.T) {
	db, _, b := twoReplicas(t)
	count := func() int64 {
		var n int64
		db.Raw("SELECT count(*) FROM pg_stat_activity WHERE query = ?", `LISTEN "`+b.Watcher.Channel()+`"`).Scan(&n)
		return n
	}
	eventually(t, 5*time.Second, "two listeners", func() bool { return count() == 2 })
	done := make(chan struct{})
	go func() { b.Close(); b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	eventually(t, 5*time.Second, "B's listener gone", func() bool { return count() == 1 })
}
