// Package faulttest stops and restarts PostgreSQL under load. It runs its own
// throwaway cluster (dbtest.StartCluster: initdb into a temp folder, its own
// port), never the shared server other tests use.
package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jianfu/app"
	"jianfu/app/apptest"
	"jianfu/app/areas"
	"jianfu/models"
	"jianfu/models/dbtest"
	"jianfu/seed"
)

type outcome struct {
	key    string
	id     int64
	status int
}

// TestPostgresRestartUnderLoad: while PostgreSQL is stopped under a load of
// creates, every answer is 503 (never 401 or 500); once it is back the
// service answers within a second; no acknowledged create is lost, and no
// create retried with its Idempotency-Key is stored twice.
func TestMain(m *testing.M) {
	if os.Getenv("TEST_LOG") == "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}

func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and restarts a PostgreSQL cluster")
	}
	cl := dbtest.StartCluster(t)
	url := cl.CreateDatabase("jianfu")
	ctx := context.Background()
	db, err := models.OpenWith(url, models.Options{PoolSize: 10, StatementTimeout: 3 * time.Second, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s, _ := db.DB(); s.Close() })
	if err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	az, err := models.NewAuthorizer(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Demo(ctx, db, az, apptest.SeedOptions); err != nil {
		t.Fatal(err)
	}
	az.Close()
	srv, err := areas.NewServer(app.Config{Now: apptest.Now}, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.E)
	t.Cleanup(hs.Close)

	token := login(t, hs.URL, "teacher.hz1")
	var classID int64
	db.Raw(`SELECT classes.id FROM classes JOIN schools ON schools.id = classes.school_id
		WHERE schools.name = '阜新市海州区实验学校' AND classes.grade = 8 AND classes.number = 1`).Scan(&classID)
	path := fmt.Sprintf("%s/api/v1/classes/%d/homework", hs.URL, classID)

	var (
		down      atomic.Bool
		mu        sync.Mutex
		acked     []outcome
		duringOut = map[int]int{} // status → count while the database was down
		statuses  = map[int]int{}
		firstOK   atomic.Int64 // unix nanos of the first 201 after the restart
		restarted atomic.Int64
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		seq       atomic.Int64
		replays   atomic.Int64
	)
	client := &http.Client{Timeout: 10 * time.Second}
	worker := func(w int) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("w%d-%d", w, seq.Add(1))
			body := fmt.Sprintf(`{"subject":"数学","date":"2026-11-26","title":%q,"minutes":5,"kind":"oral","layer":"optional","in_school":true}`, key)
			// Retry the same create with the same key until it is answered.
			for attempt := 0; ; attempt++ {
				wasDown := down.Load()
				req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set(app.HeaderIdempotencyKey, key)
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if wasDown && down.Load() {
					duringOut[resp.StatusCode]++
				}
				mu.Unlock()
				if resp.StatusCode == http.StatusCreated {
					var out struct{ ID int64 }
					json.Unmarshal(raw, &out)
					if r := restarted.Load(); r > 0 && !down.Load() {
						firstOK.CompareAndSwap(0, time.Now().UnixNano())
					}
					mu.Lock()
					acked = append(acked, outcome{key: key, id: out.ID, status: resp.StatusCode})
					mu.Unlock()
					// A client that missed this answer would send it again:
					// every third create is re-sent with its key.
					if seq.Load()%3 == 0 {
						replays.Add(1)
						if id, st := resend(client, path, token, key, body); st == http.StatusCreated && id != out.ID {
							t.Errorf("%s re-sent: id %d, first answer %d", key, id, out.ID)
						} else if st != http.StatusCreated && st != http.StatusServiceUnavailable && st != 0 {
							t.Errorf("%s re-sent: %d", key, st)
						}
					}
					break
				}
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("%s attempt %d: %d %s", key, attempt, resp.StatusCode, raw)
				}
				select {
				case <-stop:
					if attempt > 200 {
						return
					}
				default:
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	const workers = 6
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go worker(w)
	}
	// Two outages: a clean stop, then a crash (immediate: in-flight
	// transactions die without an answer).
	var readyDown int
	for i, mode := range []string{"fast", "immediate"} {
		time.Sleep(2 * time.Second)
		cl.Stop(mode)
		// down covers exactly the time the server is stopped: a request
		// sent and answered inside it must be a 503.
		down.Store(true)
		if r := get(hs.URL + "/readyz"); i == 0 {
			readyDown = r
		}
		time.Sleep(1500 * time.Millisecond)
		if i == 1 {
			firstOK.Store(0)
		}
		down.Store(false)
		cl.Start()
		restarted.Store(time.Now().UnixNano())
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	if readyDown != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d, want 503", readyDown)
	}
	if r := get(hs.URL + "/readyz"); r != http.StatusOK {
		t.Errorf("/readyz after the restart: %d", r)
	}
	bad := 0
	for st, n := range duringOut {
		if st != http.StatusServiceUnavailable {
			bad += n
		}
	}
	if duringOut[http.StatusServiceUnavailable] == 0 || bad > 0 {
		t.Errorf("answers while the database was down: %v (want only 503)", duringOut)
	}
	recovery := time.Duration(firstOK.Load() - restarted.Load())
	if firstOK.Load() == 0 || recovery > time.Second {
		t.Errorf("first created answer %v after the database was back, want ≤ 1 s", recovery)
	}
	// Every acknowledged create is stored, once.
	lost, doubled := 0, 0
	for _, a := range acked {
		var n int64
		db.Raw("SELECT COUNT(*) FROM homework_items WHERE class_id = ? AND title = ?", classID, a.key).Scan(&n)
		switch {
		case n == 0:
			lost++
		case n > 1:
			doubled++
		}
	}
	var stored, distinct int64
	db.Raw("SELECT COUNT(*), COUNT(DISTINCT title) FROM homework_items WHERE class_id = ? AND title LIKE 'w%'", classID).Row().Scan(&stored, &distinct)
	t.Logf("fault run: %d acknowledged creates (%d stored rows, %d distinct keys, %d re-sent with their key), %d lost, %d doubled; statuses %v; while down %v; recovery after the crash %v",
		len(acked), stored, distinct, replays.Load(), lost, doubled, statuses, duringOut, recovery.Round(time.Millisecond))
	if out := os.Getenv("JIANFU_FAULT_REPORT"); out != "" {
		os.WriteFile(out, []byte(fmt.Sprintf("acked=%d lost=%d doubled=%d stored=%d distinct=%d down_statuses=%v recovery_ms=%s\n",
			len(acked), lost, doubled, stored, distinct, duringOut, strconv.FormatInt(recovery.Milliseconds(), 10))), 0o644)
	}
	if len(acked) == 0 || lost > 0 || doubled > 0 || stored != distinct {
		t.Fatalf("%d acknowledged, %d lost, %d doubled, %d rows for %d keys", len(acked), lost, doubled, stored, distinct)
	}
}

// resend sends a create again with its key: the answer must be the first one.
func resend(client *http.Client, path, token, key, body string) (int64, int) {
	req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(app.HeaderIdempotencyKey, key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	var out struct{ ID int64 }
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == http.StatusCreated && resp.Header.Get("Idempotent-Replayed") != "true" {
		return -1, resp.StatusCode
	}
	return out.ID, resp.StatusCode
}

func get(u string) int {
	resp, err := http.Get(u)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func login(t *testing.T, base, user string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, seed.DemoPassword)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&out)
	if out.Token == "" {
		t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	return out.Token
}
