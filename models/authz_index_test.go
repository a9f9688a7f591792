package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// The per-user grant index follows every way the policy changes: Grant,
// Revoke, rules written straight into casbin_rule followed by
// PolicyChanged (school setup), and Reload (the seed).
func TestGrantIndexFollowsChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		az, err := models.NewAuthorizer(db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(az.Close)
		p := models.Grant{Role: "principal", Domain: "school:42"}
		if hasGrant(az, 7, p) {
			t.Fatal("grant before it was made")
		}
		if err := az.Grant(ctx, 7, p.Role, p.Domain); err != nil {
			t.Fatal(err)
		}
		if !hasGrant(az, 7, p) {
			t.Fatal("Grant not seen by GrantsOf")
		}
		tch := models.Grant{Role: "teacher", Domain: "school:42"}
		if err := db.Exec("INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) VALUES ('g', 'user:7', 'teacher', 'school:42', '', '', '')").Error; err != nil {
			t.Fatal(err)
		}
		if hasGrant(az, 7, tch) {
			t.Fatal("a rule not yet loaded is in the index")
		}
		if err := az.PolicyChanged(); err != nil {
			t.Fatal(err)
		}
		if gs, _ := az.GrantsOf(7); len(gs) != 2 || gs[0] != p || gs[1] != tch {
			t.Fatalf("after PolicyChanged: %v, want [%v %v] (sorted)", gs, p, tch)
		}
		if err := az.Revoke(ctx, 7, p.Role, p.Domain); err != nil {
			t.Fatal(err)
		}
		if hasGrant(az, 7, p) {
			t.Fatal("a revoked grant is still in the index")
		}
		if err := db.Exec("DELETE FROM casbin_rule WHERE v0 = 'user:7'").Error; err != nil {
			t.Fatal(err)
		}
		if err := az.Reload(); err != nil {
			t.Fatal(err)
		}
		if gs, _ := az.GrantsOf(7); len(gs) != 0 {
			t.Fatalf("after Reload: %v, want none", gs)
		}
	})
}

// Readers racing writers never keep a stale index: once the writes are
// done, every grant made is seen and every revoked one is gone.
func TestGrantIndexUnderConcurrentChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		az, err := models.NewAuthorizer(db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(az.Close)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for r := 0; r < 4; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
						_, _ = az.GrantsOf(int64(100 + r))
					}
				}
			}()
		}
		const n = 30
		for i := 0; i < n; i++ {
			if err := az.Grant(ctx, int64(100+i%4), "teacher", fmt.Sprintf("school:%d", i)); err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				if err := az.Revoke(ctx, int64(100+i%4), "teacher", fmt.Sprintf("school:%d", i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		close(stop)
		wg.Wait()
		for i := 0; i < n; i++ {
			g := models.Grant{Role: "teacher", Domain: fmt.Sprintf("school:%d", i)}
			if got, want := hasGrant(az, int64(100+i%4), g), i%3 != 0; got != want {
				t.Errorf("user %d %v: held %v, want %v", 100+i%4, g, got, want)
			}
		}
	})
}
