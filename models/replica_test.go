package models_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/seed"
)

// pgCluster is a PostgreSQL cluster of the test's own, in a temp folder, run
// by the postgres OS user when the test runs as root (initdb and pg_ctl
// refuse root).
type pgCluster struct {
	t    *testing.T
	bin  string
	dir  string
	port int
}

func pgBinDir(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); fileExists(filepath.Join(d, "pg_basebackup")) {
			return d
		}
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_basebackup")
	if len(m) == 0 {
		t.Skip("no pg_basebackup/initdb here: the standby test needs the PostgreSQL server binaries")
	}
	return filepath.Dir(m[len(m)-1])
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run runs a PostgreSQL binary, as the postgres user when we are root.
func (c *pgCluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, name)}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (c *pgCluster) start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.dir, "-w", "-t", "60", "-l", c.dir+".log", "-o",
		fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off", c.port, filepath.Dir(c.dir)), "start")
}

func (c *pgCluster) stop(mode string) {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.dir, "-w", "-m", mode, "stop")
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// TestReplicaStreamingStandby starts a primary cluster and a real streaming
// standby of it (pg_basebackup -R: primary_conninfo and standby.signal,
// second port), migrates and seeds the primary, and reads the dashboard from
// the standby once it has replayed the writes: the same numbers as the
// primary's. A later write shows on the standby too. With the standby
// stopped, reads fall back to the primary.
func TestReplicaStreamingStandby(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("PostgreSQL tests run with TEST_DATABASE_URL")
	}
	bin := pgBinDir(t)
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Skip("running as root without a postgres user to run the clusters")
		}
	}
	root, err := os.MkdirTemp("", "jianfu-standby-") // not t.TempDir: its parent is closed to the postgres user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres", root).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	os.Chmod(root, 0o755)
	primary := &pgCluster{t: t, bin: bin, dir: filepath.Join(root, "primary"), port: freePort(t)}
	primary.run("initdb", "-D", primary.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
	hba := "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(primary.dir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	primary.start()
	t.Cleanup(func() { primary.stop("immediate") })

	standby := &pgCluster{t: t, bin: bin, dir: filepath.Join(root, "standby"), port: freePort(t)}
	primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(primary.port), "-U", "postgres", "-D", standby.dir, "-R", "-X", "stream", "-c", "fast")
	standby.start()
	standbyUp := true
	t.Cleanup(func() {
		if standbyUp {
			standby.stop("immediate")
		}
	})

	ctx := context.Background()
	db, err := models.Open(primary.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	if err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	az, err := models.NewAuthorizer(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	if _, err := seed.Demo(ctx, db, az, seed.Options{Seed: 3, Today: rollupToday, StudentsPerClass: 2}); err != nil {
		t.Fatal(err)
	}

	rep, err := models.OpenReplica(db, standby.url(), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rep.Close)
	if !rep.Up() {
		t.Fatal("the standby is not seen as up")
	}
	var inRecovery bool
	rep.Reader().Raw("SELECT pg_is_in_recovery()").Scan(&inRecovery)
	if !inRecovery {
		t.Fatal("Reader is not the standby")
	}
	caughtUp := func() {
		t.Helper()
		var lsn string
		db.Raw("SELECT pg_current_wal_lsn()::text").Scan(&lsn)
		deadline := time.Now().Add(30 * time.Second)
		for {
			var ok bool
			rep.Reader().Raw("SELECT pg_last_wal_replay_lsn() >= ?::pg_lsn", lsn).Scan(&ok)
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the standby did not catch up within 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	caughtUp()
	dash := func(on func() *models.Dashboard) string { return dashboardJSON(t, on()) }
	fromPrimary := func() *models.Dashboard {
		d, err := models.BuildDashboard(ctx, db, "210900", "", rollupToday)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fromReplica := func() *models.Dashboard {
		var d *models.Dashboard
		if err := rep.Read(ctx, func(r *gorm.DB) (err error) {
			d, err = models.BuildDashboard(ctx, r, "210900", "", rollupToday)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if a, b := dash(fromPrimary), dash(fromReplica); a != b {
		t.Fatalf("standby dashboard differs from the primary's:\n%.2000s\n%.2000s", b, a)
	}

	// A write on the primary (a complaint) reaches the standby's dashboard.
	before := fromReplica().Rollup.Indicators[models.IndComplaintsFiled]
	now, _ := time.ParseInLocation("2006-01-02 15:04", rollupToday+" 09:00", time.FixedZone("CST", 8*3600))
	var sc models.School
	db.Order("id").First(&sc)
	c, err := models.FileComplaint(ctx, db, models.ComplaintInput{RegionCode: sc.RegionCode, SchoolName: sc.Name, Category: "homework_load",
		Body: "作业太多，孩子写到很晚。", Anonymous: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.SchoolID == nil { // the bureau assigns it to the school
		if _, err := models.AssignComplaint(ctx, db, c.ID, sc.ID, "请核实", now); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := models.DrainIndicatorOutbox(ctx, db); err != nil || n != 1 {
		t.Fatalf("drain after the complaint (school %v): %d schools, %v", c.SchoolID, n, err)
	}
	if p := fromPrimary().Rollup.Indicators[models.IndComplaintsFiled]; p != before+1 {
		t.Fatalf("complaints filed on the primary: %v, want %v", p, before+1)
	}
	caughtUp()
	if after := fromReplica().Rollup.Indicators[models.IndComplaintsFiled]; after != before+1 {
		t.Fatalf("complaints filed on the standby: %v, want %v", after, before+1)
	}

	// The standby goes down: reads fall back to the primary at once.
	standby.stop("immediate")
	standbyUp = false
	if a, b := dash(fromPrimary), dash(fromReplica); a != b {
		t.Fatal("with the standby down, the replica read differs from the primary's")
	}
	if rep.Up() {
		t.Fatal("the standby is still seen as up after it stopped")
	}
	rep.Reader().Raw("SELECT pg_is_in_recovery()").Scan(&inRecovery)
	if inRecovery {
		t.Fatal("Reader is still the standby")
	}
	// It comes back: reads return to it after a health check.
	standby.start()
	standbyUp = true
	deadline := time.Now().Add(20 * time.Second)
	for !rep.Up() {
		if time.Now().After(deadline) {
			t.Fatal("the standby was not seen up again")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
