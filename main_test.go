package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// The command line is tested as a user runs it: the binary is built once and
// run in a subprocess with DATABASE_URL pointing at a fresh database.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func jianfuBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jianfu-cli-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "jianfu")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// cli runs the binary with args against dbURL, stdin as given, bounded in time.
func cli(t *testing.T, dbURL, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, jianfuBinary(t), args...)
	cmd.Env = append(os.Environ(), append([]string{"DATABASE_URL=" + dbURL, "LOG_LEVEL=warn", "JIANFU_PASSWORD="}, env...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return cliResult{code, out.String(), errb.String()}
}

// cliDatabases gives each dialect an empty database: a new SQLite path (not
// even created), and a fresh PostgreSQL schema when TEST_DATABASE_URL is set.
func cliDatabases(t *testing.T, fn func(t *testing.T, url string, open func() *gorm.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "data", "jianfu.db")
		fn(t, path, func() *gorm.DB {
			db, err := models.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if s, err := db.DB(); err == nil {
					s.Close()
				}
			})
			return db
		})
	})
	if os.Getenv("TEST_DATABASE_URL") != "" {
		t.Run("postgres", func(t *testing.T) {
			db := dbtest.Open(t, models.Postgres)
			fn(t, dbtest.URL(db), func() *gorm.DB { return db })
		})
	}
}

func TestCLIMigrateAndUsers(t *testing.T) {
	cliDatabases(t, func(t *testing.T, url string, open func() *gorm.DB) {
		ctx := context.Background()
		r := cli(t, url, "", nil, "migrate", "up")
		if r.code != 0 || !strings.Contains(r.stdout, "migrations applied") {
			t.Fatalf("migrate up: %+v", r)
		}
		r = cli(t, url, "", nil, "migrate", "status")
		if r.code != 0 || !strings.Contains(r.stdout, "00001") || !strings.Contains(r.stdout, "applied") || strings.Contains(r.stdout, "pending") {
			t.Fatalf("migrate status: %+v", r)
		}
		r = cli(t, url, "", nil, "migrate", "sideways")
		if r.code == 0 {
			t.Error("migrate with an unknown command succeeded")
		}

		// create: password from JIANFU_PASSWORD
		r = cli(t, url, "", []string{"JIANFU_PASSWORD=first-password"}, "user", "create", "--username", "zhang.san", "--name", "张三")
		if r.code != 0 || !strings.Contains(r.stdout, "created user zhang.san") {
			t.Fatalf("user create: %+v", r)
		}
		r = cli(t, url, "", []string{"JIANFU_PASSWORD=first-password"}, "user", "create", "--username", "zhang.san")
		if r.code != 1 || !strings.Contains(r.stderr, "用户名 zhang.san 已被使用") {
			t.Errorf("duplicate user create: %+v", r)
		}
		r = cli(t, url, "", []string{"JIANFU_PASSWORD=short"}, "user", "create", "--username", "li.si")
		if r.code != 1 || !strings.Contains(r.stderr, "密码至少 8 位") {
			t.Errorf("short password: %+v", r)
		}

		// grant and revoke
		r = cli(t, url, "", nil, "user", "grant", "--username", "zhang.san", "--role", "admin", "--domain", "*")
		if r.code != 0 || !strings.Contains(r.stdout, "grant zhang.san admin in *") {
			t.Fatalf("user grant: %+v", r)
		}
		for _, bad := range [][]string{
			{"--role", "wizard", "--domain", "*"},
			{"--role", "teacher", "--domain", "class:1"},
			{"--role", "teacher", "--domain", "school:424242"},
		} {
			r = cli(t, url, "", nil, append([]string{"user", "grant", "--username", "zhang.san"}, bad...)...)
			if r.code != 1 || !strings.Contains(r.stderr, "error:") {
				t.Errorf("grant %v: %+v", bad, r)
			}
		}
		r = cli(t, url, "", nil, "user", "grant", "--username", "nobody", "--role", "admin", "--domain", "*")
		if r.code != 1 || !strings.Contains(r.stderr, `no user "nobody"`) {
			t.Errorf("grant to a missing user: %+v", r)
		}
		db := open()
		az, err := models.NewAuthorizer(db)
		if err != nil {
			t.Fatal(err)
		}
		defer az.Close()
		u, err := models.UserByUsername(ctx, db, "zhang.san")
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := az.GrantsOf(u.ID); len(g) != 1 || g[0] != (models.Grant{Role: "admin", Domain: "*"}) {
			t.Fatalf("grants after the CLI grant: %v", g)
		}

		// password: from stdin when JIANFU_PASSWORD is unset
		r = cli(t, url, "second-password\n", nil, "user", "password", "--username", "zhang.san")
		if r.code != 0 || !strings.Contains(r.stdout, "password of zhang.san changed") {
			t.Fatalf("user password: %+v", r)
		}
		if _, err := models.Authenticate(ctx, db, "zhang.san", "second-password", "127.0.0.1"); err != nil {
			t.Errorf("sign in with the new password: %v", err)
		}

		r = cli(t, url, "", nil, "user", "revoke", "--username", "zhang.san", "--role", "admin", "--domain", "*")
		if r.code != 0 {
			t.Fatalf("user revoke: %+v", r)
		}
		if err := az.Reload(); err != nil {
			t.Fatal(err)
		}
		if g, _ := az.GrantsOf(u.ID); len(g) != 0 {
			t.Errorf("grants after the CLI revoke: %v", g)
		}

		// Every CLI write is audited, marked as coming from the CLI.
		trail, err := models.AuditTrail(ctx, db, "user", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range trail {
			actions = append(actions, a.Action)
			if a.RequestID != "cli" {
				t.Errorf("audit row %d has request id %q", a.ID, a.RequestID)
			}
		}
		if got := strings.Join(actions, ","); got != "create,grant,password_reset,revoke" {
			t.Errorf("audit trail: %s", got)
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is a running `jianfu demo` or `jianfu serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	stdout *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs the binary with args plus --addr and waits (bounded) until /readyz answers.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(jianfuBinary(t), append(args, "--addr", addr)...)
	cmd.Env = append(os.Environ(), append([]string{"LOG_LEVEL=warn", "SHUTDOWN_GRACE=2s"}, env...)...)
	s := &server{cmd: cmd, addr: addr, stdout: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.stdout, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("%v exited before it was ready: %v\n%s", args, err, s.stdout.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: /readyz did not answer within 90 s", args)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit (graceful shutdown): during
// the grace period (SHUTDOWN_GRACE=2s) the server still answers, with
// /readyz at 503 so a load balancer stops sending.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	sawDraining := false
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end) && !sawDraining; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err != nil {
			t.Fatalf("the server stopped answering at once after SIGTERM: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			sawDraining = true
			h, err := http.Get("http://" + s.addr + "/healthz")
			if err != nil || h.StatusCode != http.StatusOK {
				t.Fatalf("during the grace period /healthz: %v %v", h, err)
			}
			h.Body.Close()
		}
	}
	if !sawDraining {
		t.Error("/readyz never answered 503 after SIGTERM")
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
}

func (s *server) login(t *testing.T, user, password string) int {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)
	resp, err := http.Post("http://"+s.addr+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// `demo` loads the district into an empty database, and on a second start
// (already seeded) prints the accounts again and serves.
func TestCLIDemoTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds the whole demo district")
	}
	path := filepath.Join(t.TempDir(), "demo.db")
	first := startServer(t, nil, "demo", "--db", path)
	out := first.stdout.String()
	if !strings.Contains(out, "loading the demo district") || !strings.Contains(out, "bureau.haizhou") {
		t.Errorf("first demo start printed:\n%s", out)
	}
	if code := first.login(t, "principal.hz1", "jianfu-demo"); code != 200 {
		t.Errorf("login on the first start: %d", code)
	}
	first.stop(t)

	second := startServer(t, nil, "demo", "--db", path)
	out = second.stdout.String()
	if strings.Contains(out, "loading the demo district") {
		t.Error("the second start seeded again")
	}
	for _, want := range []string{"demo accounts", "admin", "bureau.fuxin", "teacher.hz1", "parent.hz1", "principal.xq1", "jianfu-demo"} {
		if !strings.Contains(out, want) {
			t.Errorf("second demo start does not print %q:\n%s", want, out)
		}
	}
	if code := second.login(t, "teacher.hz1", "jianfu-demo"); code != 200 {
		t.Errorf("login on the second start: %d", code)
	}
	second.stop(t)

	// serve on the existing database needs no demo flag.
	served := startServer(t, []string{"DATABASE_URL=" + path}, "serve")
	if code := served.login(t, "admin", "jianfu-demo"); code != 200 {
		t.Errorf("login on serve: %d", code)
	}
	served.stop(t)
}

// TestCLIIndicatorsRebuild: `indicators rebuild --school ID` restores a
// school's rollup row from the area rollups and leaves the others alone; a
// bad date is refused before anything is touched.
func TestCLIIndicatorsRebuild(t *testing.T) {
	cliDatabases(t, func(t *testing.T, url string, open func() *gorm.DB) {
		if r := cli(t, url, "", nil, "seed", "--schools", "3", "--days", "3"); r.code != 0 {
			t.Fatalf("seed: %+v", r)
		}
		db := open()
		var rows []models.IndicatorRollup
		if err := db.Order("school_id").Find(&rows).Error; err != nil || len(rows) < 3 {
			t.Fatalf("rollup rows after seed: %d, %v", len(rows), err)
		}
		good := rows[1]
		if good.Vals == "{}" || good.Students == 0 {
			t.Fatalf("seeded row has no values: %+v", good)
		}
		if err := db.Model(&models.IndicatorRollup{}).Where("school_id IN ?", []int64{rows[0].SchoolID, good.SchoolID}).
			Updates(map[string]any{"vals": "{}", "students": 0}).Error; err != nil {
			t.Fatal(err)
		}
		if r := cli(t, url, "", nil, "indicators", "rebuild", "--from", "2026-13-01"); r.code != 1 {
			t.Errorf("bad --from accepted: %+v", r)
		}
		r := cli(t, url, "", nil, "indicators", "rebuild", "--school", fmt.Sprint(good.SchoolID))
		if r.code != 0 || !strings.Contains(r.stdout, "rebuilt 1 schools") {
			t.Fatalf("rebuild: %+v", r)
		}
		var after models.IndicatorRollup
		db.Where("school_id = ? AND period = ?", good.SchoolID, good.Period).First(&after)
		if after.Vals != good.Vals || after.Students != good.Students {
			t.Errorf("rebuilt row %s/%d, want %s/%d", after.Vals, after.Students, good.Vals, good.Students)
		}
		var other models.IndicatorRollup
		db.Where("school_id = ? AND period = ?", rows[0].SchoolID, good.Period).First(&other)
		if other.Vals != "{}" {
			t.Errorf("rebuild --school %d touched school %d", good.SchoolID, rows[0].SchoolID)
		}
		if r := cli(t, url, "", nil, "indicators", "rebuild"); r.code != 0 || !strings.Contains(r.stdout, "rebuilt 3 schools") {
			t.Fatalf("rebuild all: %+v", r)
		}
		db.Where("school_id = ? AND period = ?", rows[0].SchoolID, good.Period).First(&other)
		if other.Vals != rows[0].Vals {
			t.Errorf("rebuild of all left school %d at %s, want %s", rows[0].SchoolID, other.Vals, rows[0].Vals)
		}
	})
}

// TestOpenURL: the demo prints an address a browser can open, whatever the
// form of --addr (it printed http://localhost127.0.0.1:8080/ for a host).
func TestOpenURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080/",
		"127.0.0.1:8080": "http://127.0.0.1:8080/",
		"0.0.0.0:9000":   "http://localhost:9000/",
		"[::]:9000":      "http://localhost:9000/",
		"[::1]:9000":     "http://[::1]:9000/",
	} {
		if got := openURL(addr); got != want {
			t.Errorf("openURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
