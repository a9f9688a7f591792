package dbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a throwaway PostgreSQL server of a test's own (initdb into a temp
// folder, its own port and socket folder), for tests that stop and restart the
// database: they must never touch the shared server other tests are using.
type Cluster struct {
	URL  string // postgres://… of database "postgres" on this cluster
	Port int
	dir  string
	bin  string
	run  []string // prefix that runs a command as the cluster's OS user
	tb   testing.TB
}

// pgBin finds the PostgreSQL server binaries (Debian puts them under
// /usr/lib/postgresql/<version>/bin, off PATH).
func pgBin() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// StartCluster starts a fresh cluster, stopped and removed at cleanup. It
// skips the test when the PostgreSQL server binaries are not installed (and
// fails with CI set: CI must run it).
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin := pgBin()
	if bin == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found")
		}
		tb.Skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
	}
	dir, err := os.MkdirTemp("", "jianfu-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cluster{dir: dir, bin: bin, tb: tb}
	// initdb refuses to run as root: run it as the postgres OS user.
	if os.Geteuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			tb.Skip("running as root and there is no postgres OS user for initdb")
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		c.run = []string{"runuser", "-u", "postgres", "--"}
	}
	tb.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate", "-w")
		os.RemoveAll(dir)
	})
	data := filepath.Join(dir, "data")
	if out, err := c.cmd(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	c.Port = freePort(tb)
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 60\nshared_buffers = 32MB\n", c.Port, dir)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	c.Start()
	return c
}

func (c *Cluster) cmd(name string, args ...string) *exec.Cmd {
	full := append(append(append([]string{}, c.run...), name), args...)
	return exec.Command(full[0], full[1:]...)
}

func (c *Cluster) pgctl(args ...string) ([]byte, error) {
	a := append([]string{"-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log")}, args...)
	return c.cmd(filepath.Join(c.bin, "pg_ctl"), a...).CombinedOutput()
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.tb.Helper()
	if out, err := c.pgctl("start", "-w", "-t", "30"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.tb.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server: mode "fast" (disconnect clients, clean shutdown) or
// "immediate" (as a crash would).
func (c *Cluster) Stop(mode string) {
	c.tb.Helper()
	if out, err := c.pgctl("stop", "-m", mode, "-w", "-t", "30"); err != nil {
		c.tb.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Bin is the folder of the server binaries (pg_dump, pg_restore, psql…).
func (c *Cluster) Bin() string { return c.bin }

// CreateDatabase makes a database on the cluster and returns its URL.
func (c *Cluster) CreateDatabase(name string) string {
	c.tb.Helper()
	out, err := exec.Command(filepath.Join(c.bin, "psql"), c.URL, "-Atqc", "CREATE DATABASE "+name).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "already exists") {
		c.tb.Fatalf("create database: %v\n%s", err, out)
	}
	return strings.Replace(c.URL, "/postgres?", "/"+name+"?", 1)
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	// Give the kernel a moment so the port is free for postgres.
	time.Sleep(10 * time.Millisecond)
	return l.Addr().(*net.TCPAddr).Port
}
