package models_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/policies"
)

func mustUser(t *testing.T, db *gorm.DB, name string) *models.User {
	t.Helper()
	u, err := models.CreateUser(context.Background(), db, name, name, "correct-horse-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func kindOf(err error) models.Kind {
	if e, ok := models.AsError(err); ok {
		return e.Kind
	}
	return ""
}

// Finding 8: 30 parallel wrong-password sign-ins were all evaluated; now at
// most FreeAttempts are, the rest get 429 with a Retry-After.
func TestLoginThrottleRaceFree(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		mustUser(t, db, "wang")
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		kinds := map[models.Kind]int{}
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := models.Authenticate(ctx, db, "wang", "wrong-password", "10.0.0.1")
				mu.Lock()
				kinds[kindOf(err)]++
				mu.Unlock()
				if e, ok := models.AsError(err); ok && e.Kind == models.KindTooMany && e.RetryAfter <= 0 {
					t.Errorf("429 without Retry-After: %+v", e)
				}
			}()
		}
		wg.Wait()
		if kinds[models.KindUnauthorized] > models.FreeAttempts || kinds[models.KindTooMany] < 30-models.FreeAttempts {
			t.Fatalf("evaluated %d of 30 parallel attempts (want ≤ %d), 429 for %d; all: %v",
				kinds[models.KindUnauthorized], models.FreeAttempts, kinds[models.KindTooMany], kinds)
		}
	})
}

// Finding 8: five wrong passwords from an attacker's address must not lock
// the owner out of their account from their own address.
func TestLoginThrottlePerAccountAndAddress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		mustUser(t, db, "li")
		ctx := context.Background()
		for i := 0; i < 8; i++ {
			models.Authenticate(ctx, db, "li", "nope-nope", "203.0.113.9")
		}
		if _, err := models.Authenticate(ctx, db, "li", "nope-nope", "203.0.113.9"); kindOf(err) != models.KindTooMany {
			t.Fatalf("attacker's 9th attempt: %v, want 429", err)
		}
		if _, err := models.Authenticate(ctx, db, "li", "correct-horse-1", "198.51.100.7"); err != nil {
			t.Fatalf("owner from their own address is locked out: %v", err)
		}
	})
}

// Finding 8: a school behind one address signs in many people; a few
// mistyped passwords there must not lock everyone out, but the address has
// a ceiling.
func TestLoginThrottleAddressCeiling(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		mustUser(t, db, "zhao")
		ctx := context.Background()
		for i := 0; i < 25; i++ { // 25 teachers mistype once each
			if _, err := models.Authenticate(ctx, db, "teacher"+itoaT(i), "x-wrong-x", "192.0.2.1"); kindOf(err) != models.KindUnauthorized {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		if _, err := models.Authenticate(ctx, db, "zhao", "correct-horse-1", "192.0.2.1"); err != nil {
			t.Fatalf("25 failures of others from a school's address locked a colleague out: %v", err)
		}
		// The ceiling holds: fill the address's bucket to its limit.
		db.Exec("UPDATE throttles SET hits = ? WHERE bucket = ?", models.MaxFailuresPerIP, "login-ip:192.0.2.1")
		if _, err := models.Authenticate(ctx, db, "zhao", "correct-horse-1", "192.0.2.1"); kindOf(err) != models.KindTooMany {
			t.Fatalf("over the address ceiling: %v, want 429", err)
		}
	})
}

func itoaT(i int) string { return strconv.Itoa(i) }

func TestBackoffDoubles(t *testing.T) {
	for n, want := range map[int64]time.Duration{1: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 8: 8 * time.Second, 30: models.MaxBackoff, 1 << 40: models.MaxBackoff} {
		if got := models.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

// Finding 8: an unknown username answered in 1 ms against 40 ms for a real
// one. The dummy hash makes both spend an argon2id check; compared here as a
// ratio of the same run (never an absolute time).
func TestUnknownUserSpendsAPasswordCheck(t *testing.T) {
	db := dbtest.Open(t, models.SQLite)
	mustUser(t, db, "real")
	ctx := context.Background()
	measure := func(user string, ip string) time.Duration {
		var best time.Duration = math.MaxInt64
		for i := 0; i < 3; i++ {
			start := time.Now()
			models.Authenticate(ctx, db, user, "wrong-password", ip+itoaT(i))
			if d := time.Since(start); d < best {
				best = d
			}
		}
		return best
	}
	models.Authenticate(ctx, db, "warmup", "x", "w") // the dummy hash is made once
	known, unknown := measure("real", "k"), measure("ghost", "u")
	if unknown*3 < known {
		t.Fatalf("unknown user %v vs known %v: the timing tells them apart", unknown, known)
	}
}

// Finding 1: a database failure looking up a session is not "not signed in".
func TestUserBySessionDatabaseErrorIsUnavailable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		u := mustUser(t, db, "chen")
		ctx := context.Background()
		tok, err := models.CreateSession(ctx, db, u.ID, models.SessionBearer, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.UserBySession(ctx, db, "no-such-token", models.SessionBearer); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown token: %v, want not found", err)
		}
		sqlDB, _ := db.DB()
		sqlDB.Close()
		_, err = models.UserBySession(ctx, db, tok, models.SessionBearer)
		if errors.Is(err, models.ErrNotFound) || !models.IsUnavailable(err) || kindOf(err) != models.KindUnavailable {
			t.Fatalf("closed database: %v (kind %q), want unavailable", err, kindOf(err))
		}
		if _, err := models.Authenticate(ctx, db, "chen", "correct-horse-1", "1.2.3.4"); kindOf(err) != models.KindUnavailable {
			t.Fatalf("sign-in on a closed database: %v, want unavailable", err)
		}
		if _, err := models.UserByCalendarToken(ctx, db, "tok"); kindOf(err) != models.KindUnavailable {
			t.Fatalf("calendar token on a closed database: %v, want unavailable", err)
		}
	})
}

// Finding 13: the calendar link survived a password change and worked again
// after the account was re-enabled.
func TestCalendarTokenEndsWithPasswordAndDisable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		u := mustUser(t, db, "sun")
		ctx := context.Background()
		tok, err := models.IssueCalendarToken(ctx, db, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.UserByCalendarToken(ctx, db, tok); err != nil {
			t.Fatal(err)
		}
		if err := models.ChangeOwnPassword(ctx, db, u.ID, "correct-horse-1", "battery-staple-2"); err != nil {
			t.Fatal(err)
		}
		if _, err := models.UserByCalendarToken(ctx, db, tok); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("calendar token after a password change: %v, want not found", err)
		}
		tok, _ = models.IssueCalendarToken(ctx, db, u.ID)
		if err := models.SetDisabled(ctx, db, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := models.SetDisabled(ctx, db, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := models.UserByCalendarToken(ctx, db, tok); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("calendar token after disable + enable: %v, want not found", err)
		}
	})
}

// Finding 14: 20 parallel filings from one address got 6 through against a
// limit of 5; and the limit was per address only.
func TestComplaintRateLimitRaceFree(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.Create(&models.Region{Code: "210902", Name: "海州区", Level: "county"}).Error; err != nil {
			t.Fatal(err)
		}
		file := func(ip, net string, user int64) error {
			_, err := models.FileComplaint(ctx, db, models.ComplaintInput{RegionCode: "210902", Category: policies.ComplaintHomeworkLoad,
				Body: "作业太多了，每天到十一点", Anonymous: true, IPHash: ip, NetHash: net, ReporterUserID: user}, time.Now())
			return err
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, refused := 0, 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := file("ip-a", "net-a", 0)
				mu.Lock()
				defer mu.Unlock()
				switch kindOf(err) {
				case "":
					if err != nil {
						t.Error(err)
					}
					ok++
				case models.KindTooMany:
					refused++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		var stored int64
		db.Model(&models.Complaint{}).Count(&stored)
		if ok != policies.ComplaintRateMax || stored != int64(ok) || refused != 20-ok {
			t.Fatalf("accepted %d (stored %d), refused %d of 20 parallel; want %d accepted", ok, stored, refused, policies.ComplaintRateMax)
		}
		// Per network: rotating addresses inside one network is capped too.
		n := 0
		for i := 0; i < policies.ComplaintNetRateMax+3; i++ {
			if file("rot-"+itoaT(i), "net-b", 0) == nil {
				n++
			}
		}
		if n != policies.ComplaintNetRateMax {
			t.Fatalf("one network got %d filings through rotating addresses, want %d", n, policies.ComplaintNetRateMax)
		}
		// Per signed-in account, whatever the address.
		n = 0
		for i := 0; i < policies.ComplaintRateMax+2; i++ {
			if file("acct-"+itoaT(i), "acct-net-"+itoaT(i), 77) == nil {
				n++
			}
		}
		if n != policies.ComplaintRateMax {
			t.Fatalf("one account got %d filings through, want %d", n, policies.ComplaintRateMax)
		}
	})
}

// Finding 5: the idempotency key commits with the record or not at all.
func TestIdempotencyKeyCommitsWithTheRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		region := func(tx *gorm.DB, code string) error {
			return tx.Create(&models.Region{Code: code, Name: code, Level: "county"}).Error
		}
		claim := &models.IdempotencyClaim{UserID: 1, Key: "k1", Route: "POST /x", RequestHash: "h1"}
		cctx := models.WithIdempotency(ctx, claim)
		// A failed transaction leaves no key behind.
		boom := errors.New("refused")
		if err := models.Tx(cctx, db, func(tx *gorm.DB) error { region(tx, "100001"); return boom }); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if k, err := models.LookupIdempotency(ctx, db, 1, "k1"); err != nil || k != nil || claim.Committed() {
			t.Fatalf("rolled-back create left key %+v (err %v)", k, err)
		}
		// A committed one writes the key in the same transaction, once.
		if err := models.Tx(cctx, db, func(tx *gorm.DB) error {
			return models.Tx(cctx, tx, func(tx *gorm.DB) error { return region(tx, "100002") })
		}); err != nil {
			t.Fatal(err)
		}
		if !claim.Committed() {
			t.Fatal("claim not committed")
		}
		if err := models.CompleteIdempotency(ctx, db, claim, 201, "application/json", `{"id":1}`); err != nil {
			t.Fatal(err)
		}
		k, err := models.LookupIdempotency(ctx, db, 1, "k1")
		if err != nil || k == nil || k.Status != 201 || k.Body != `{"id":1}` || k.RequestHash != "h1" {
			t.Fatalf("stored answer %+v, err %v", k, err)
		}
		// A second request with the same key cannot commit a second record.
		again := models.WithIdempotency(ctx, &models.IdempotencyClaim{UserID: 1, Key: "k1", Route: "POST /x", RequestHash: "h1"})
		err = models.Tx(again, db, func(tx *gorm.DB) error { return region(tx, "100003") })
		if !errors.Is(err, models.ErrIdempotencyInFlight) {
			t.Fatalf("second commit under the key: %v", err)
		}
		var n int64
		db.Model(&models.Region{}).Where("code IN ?", []string{"100001", "100002", "100003"}).Count(&n)
		if n != 1 {
			t.Fatalf("%d regions, want 1", n)
		}
		// Another user's key of the same name is theirs.
		other := models.WithIdempotency(ctx, &models.IdempotencyClaim{UserID: 2, Key: "k1", Route: "POST /x", RequestHash: "h9"})
		if err := models.Tx(other, db, func(tx *gorm.DB) error { return region(tx, "100004") }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCheckValues(t *testing.T) {
	type item struct {
		Points float64 `json:"points"`
	}
	type req struct {
		Title string  `json:"title"`
		Fee   int     `json:"fee_fen"`
		ID    int64   `json:"id"`
		Note  *string `json:"note"`
		Items []item  `json:"items"`
		Tags  map[string]string
	}
	nul := "a\x00b"
	for name, tc := range map[string]struct {
		in    req
		field string
	}{
		"OK":          {in: req{Title: "数学", Fee: 100, ID: math.MaxInt64, Items: []item{{1.5}}}},
		"NUL":         {in: req{Title: "x\x00"}, field: "title"},
		"NULPointer":  {in: req{Note: &nul}, field: "note"},
		"BadUTF8":     {in: req{Title: "\xff"}, field: "title"},
		"NaN":         {in: req{Items: []item{{1}, {math.NaN()}}}, field: "items[1].points"},
		"Inf":         {in: req{Items: []item{{math.Inf(1)}}}, field: "items[0].points"},
		"Int32":       {in: req{Fee: math.MaxInt32 + 1}, field: "fee_fen"},
		"NegInt32":    {in: req{Fee: math.MinInt32 - 1}, field: "fee_fen"},
		"MapKeyNUL":   {in: req{Tags: map[string]string{"\x00": "x"}}, field: "Tags"},
		"MapValueNUL": {in: req{Tags: map[string]string{"k": "\x00"}}, field: "Tags"},
	} {
		t.Run(name, func(t *testing.T) {
			err := models.CheckValues(&tc.in)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := models.AsError(err)
			if !ok || e.Kind != models.KindInvalid || e.Params["Field"] != tc.field {
				t.Fatalf("got %v (%+v), want a 400 naming %s", err, e, tc.field)
			}
		})
	}
}

func TestOpenWithTimeouts(t *testing.T) {
	url := dbtestURL(t)
	db, err := models.OpenWith(url, models.Options{PoolSize: 3, StatementTimeout: 250 * time.Millisecond, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := db.DB(); s.Close() }()
	sqlDB, _ := db.DB()
	if got := sqlDB.Stats().MaxOpenConnections; got != 3 {
		t.Fatalf("pool size %d, want 3", got)
	}
	err = db.Exec("SELECT pg_sleep(2)").Error
	if err == nil || !models.IsUnavailable(err) {
		t.Fatalf("a 2 s statement under a 250 ms statement_timeout: %v, want a timeout classed unavailable", err)
	}
	var lt string
	db.Raw("SHOW lock_timeout").Scan(&lt)
	if lt != "100ms" {
		t.Fatalf("lock_timeout %q, want 100ms", lt)
	}
}

func dbtestURL(t *testing.T) string {
	t.Helper()
	for _, d := range dbtest.Dialects() {
		if d == models.Postgres {
			return dbtest.URL(dbtest.Open(t, models.Postgres))
		}
	}
	t.Skip("TEST_DATABASE_URL not set")
	return ""
}

// Finding 3: a long-held row lock froze a replica. A waiter gives up after
// lock_timeout with an error classed unavailable (503).
func TestLockTimeoutEndsTheWait(t *testing.T) {
	url := dbtestURL(t)
	holder, err := models.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := holder.DB(); s.Close() }()
	waiter, err := models.OpenWith(url, models.Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := waiter.DB(); s.Close() }()
	if err := holder.Create(&models.Region{Code: "999001", Name: "x", Level: "county"}).Error; err != nil {
		t.Fatal(err)
	}
	tx := holder.Begin()
	defer tx.Rollback()
	if err := tx.Exec("SELECT * FROM regions WHERE code = '999001' FOR UPDATE").Error; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = waiter.Exec("UPDATE regions SET name = 'y' WHERE code = '999001'").Error
	if took := time.Since(start); err == nil || !models.IsUnavailable(err) || took > 2*time.Second {
		t.Fatalf("waiting on a held lock: %v after %v, want a lock timeout classed unavailable", err, took)
	}
}

func TestPurgeOldKeysAndBuckets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		old := time.Now().Add(-48 * time.Hour)
		db.Create(&models.IdempotencyKey{UserID: 1, IdemKey: "old", Route: "r", RequestHash: "h", Status: 201, CreatedAt: old})
		db.Create(&models.IdempotencyKey{UserID: 1, IdemKey: "new", Route: "r", RequestHash: "h", Status: 201, CreatedAt: time.Now()})
		db.Create(&models.Throttle{Bucket: "login:x|1", Hits: 3, WindowStartMs: old.UnixMilli()})
		db.Create(&models.Throttle{Bucket: "login:y|1", Hits: 3, WindowStartMs: time.Now().UnixMilli()})
		if n, err := models.PurgeIdempotencyKeys(ctx, db, time.Now()); err != nil || n != 1 {
			t.Fatalf("purged %d keys, %v", n, err)
		}
		if n, err := models.PurgeThrottles(ctx, db, time.Now(), 24*time.Hour); err != nil || n != 1 {
			t.Fatalf("purged %d buckets, %v", n, err)
		}
	})
}
