// Command jianfu is the whole product in one binary:
//
//	jianfu serve     run the server (DATABASE_URL, ADDR …)
//	jianfu demo      embedded database + demo district + server, prints the accounts
//	jianfu migrate   apply migrations (up) or list them (status)
//	jianfu seed      load the demo district, or --schools N --days D scale data
//	jianfu user      create a user, grant or revoke a role, reset a password
//	jianfu indicators rebuild   recompute the indicator rollup rows from the area rollups
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"gorm.io/gorm"

	"jianfu/app"
	"jianfu/app/areas"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/seed"
	"jianfu/views"
)

const usage = `jianfu — 双减 in-school management

usage:
  jianfu serve   [--addr :8080]                     serve (DATABASE_URL or ./data/jianfu.db)
  jianfu demo    [--addr :8080] [--db path]         embedded database + demo district + serve
  jianfu migrate [up|status]                        apply or list migrations
  jianfu seed    [--schools N --days D --seed S]    demo district, or scale data for benchmarks
  jianfu user create  --username U --name N [--school ID]   (password from JIANFU_PASSWORD or stdin)
  jianfu user grant   --username U --role R --domain D      (D: school:<id>, region:<code>, *)
  jianfu user revoke  --username U --role R --domain D
  jianfu user password --username U                       (new password from JIANFU_PASSWORD or stdin)
  jianfu indicators rebuild [--school ID] [--from YYYY-MM-DD --to YYYY-MM-DD]
                                                    recompute the dashboard's rollup rows from raw data

environment: DATABASE_URL, DATABASE_REPLICA_URL (a streaming standby for dashboards and exports), ADDR, COOKIE_SECURE=1, TRUST_PROXY=1, PUBLIC_URL, LOG_LEVEL=debug|info|warn, TZ,
             METRICS_TOKEN, DB_POOL_SIZE, DB_STATEMENT_TIMEOUT, DB_LOCK_TIMEOUT, HTTP_*_TIMEOUT, SHUTDOWN_GRACE (see README "Running in production")
`

func main() {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(env("LOG_LEVEL", "info")))
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:], false)
	case "demo":
		err = serve(ctx, os.Args[2:], true)
	case "migrate":
		err = migrate(ctx, os.Args[2:])
	case "seed":
		err = seedCmd(ctx, os.Args[2:])
	case "user":
		err = userCmd(ctx, os.Args[2:])
	case "indicators":
		err = indicatorsCmd(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", errorText(err))
		os.Exit(1)
	}
}

// errorText is the message a user reads: a models.Error in the catalog's
// words (zh-CN), anything else as it is.
func errorText(err error) string {
	if e, ok := models.AsError(err); ok {
		return views.NewTranslator(views.Languages[0]).T(e.MsgID, e.Params)
	}
	return err.Error()
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// dbOptions reads the pool size and database timeouts from the environment
// (README "Running in production"). long turns the statement timeout off for
// commands whose statements may run long (migrate, seed, user).
func dbOptions(long bool) (models.Options, error) {
	var o models.Options
	if v := os.Getenv("DB_POOL_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return o, fmt.Errorf("DB_POOL_SIZE=%q: want a whole number of at least 2", v)
		}
		o.PoolSize = n
	}
	for _, d := range []struct {
		env string
		out *time.Duration
	}{{"DB_STATEMENT_TIMEOUT", &o.StatementTimeout}, {"DB_LOCK_TIMEOUT", &o.LockTimeout}} {
		if v := os.Getenv(d.env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < 0 {
				return o, fmt.Errorf("%s=%q: want a duration such as 10s (0 for the default)", d.env, v)
			}
			*d.out = x
		}
	}
	if long {
		o.StatementTimeout = -1
	}
	return o, nil
}

// serverTimeouts reads the HTTP timeouts and the shutdown grace period
// (unset: the defaults of app.Config).
func serverTimeouts(cfg *app.Config) error {
	for _, d := range []struct {
		env string
		out *time.Duration
	}{{"HTTP_READ_HEADER_TIMEOUT", &cfg.ReadHeaderTimeout}, {"HTTP_READ_TIMEOUT", &cfg.ReadTimeout},
		{"HTTP_WRITE_TIMEOUT", &cfg.WriteTimeout}, {"HTTP_IDLE_TIMEOUT", &cfg.IdleTimeout}, {"SHUTDOWN_GRACE", &cfg.ShutdownGrace}} {
		if v := os.Getenv(d.env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return fmt.Errorf("%s=%q: want a positive duration such as 10s", d.env, v)
			}
			*d.out = x
		}
	}
	if u := cfg.PublicURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return fmt.Errorf("PUBLIC_URL=%q: want https://host (the site's own address)", u)
	}
	return nil
}

func openDB(ctx context.Context, url string) (*gorm.DB, error) { return openDBWith(ctx, url, true) }

func openDBWith(ctx context.Context, url string, long bool) (*gorm.DB, error) {
	o, err := dbOptions(long)
	if err != nil {
		return nil, err
	}
	db, err := models.OpenWith(url, o)
	if err != nil {
		return nil, err
	}
	if err := models.Migrate(ctx, db); err != nil {
		return nil, err
	}
	return db, nil
}

func serve(ctx context.Context, args []string, demo bool) error {
	start := time.Now()
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", env("ADDR", ":8080"), "listen address")
	dbURL := fs.String("db", os.Getenv("DATABASE_URL"), "database URL or SQLite path")
	fs.Parse(args)
	// Migrations run first with no statement timeout; serving then uses
	// its own pool with the timeouts on.
	mdb, err := openDB(ctx, *dbURL)
	if err != nil {
		return err
	}
	if s, err := mdb.DB(); err == nil {
		s.Close()
	}
	db, err := openDBWith(ctx, *dbURL, false)
	if err != nil {
		return err
	}
	cfg := app.Config{Addr: *addr, DatabaseURL: *dbURL, SecureCookies: os.Getenv("COOKIE_SECURE") == "1", TrustProxy: os.Getenv("TRUST_PROXY") == "1",
		PublicURL: os.Getenv("PUBLIC_URL"), MetricsToken: os.Getenv("METRICS_TOKEN"),
		ReplicaURL: os.Getenv("DATABASE_REPLICA_URL")}
	if err := serverTimeouts(&cfg); err != nil {
		return err
	}
	srv, err := areas.NewServer(cfg, db)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Authz.SyncDefaultPolicy(); err != nil {
		return err
	}
	if demo {
		empty, err := seed.IsEmpty(ctx, db)
		if err != nil {
			return err
		}
		if empty {
			fmt.Println("loading the demo district (阜新市 210900)…")
			d, err := seed.Demo(ctx, db, srv.Authz, seed.Options{Seed: 1, Progress: os.Stderr})
			if err != nil {
				return err
			}
			printAccounts(d.Accounts)
		} else {
			printAccounts(nil)
		}
	}
	stopJobs, err := startJobs(ctx, srv)
	if err != nil {
		return err
	}
	defer stopJobs()
	if a := os.Getenv("PPROF_ADDR"); a != "" {
		startPprof(a)
	}
	slog.Info("ready", "startup_ms", time.Since(start).Milliseconds())
	if demo {
		fmt.Printf("\nopen %s (password for every demo account: %s)\n", openURL(*addr), seed.DemoPassword)
	}
	return srv.Start(ctx)
}

// openURL is the address to open in a browser for a listen address: ":8080"
// and "0.0.0.0:8080" are reached through localhost, "127.0.0.1:8080" as is.
func openURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

var roleOrder = map[string]int{}

func init() {
	for i, r := range policies.Roles {
		roleOrder[r] = i
	}
}

func printAccounts(acc []seed.Account) {
	if acc == nil {
		acc = seed.DemoAccounts()
	}
	sort.SliceStable(acc, func(i, j int) bool { return roleOrder[acc[i].Role] < roleOrder[acc[j].Role] })
	fmt.Printf("\ndemo accounts (password %s):\n", seed.DemoPassword)
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  username\trole\tscope\tnote")
	for _, a := range acc {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", a.Username, a.Role, a.Scope, a.Note)
	}
	w.Flush()
}

func migrate(ctx context.Context, args []string) error {
	o, err := dbOptions(true)
	if err != nil {
		return err
	}
	db, err := models.OpenWith(os.Getenv("DATABASE_URL"), o)
	if err != nil {
		return err
	}
	cmd := "up"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "up":
		if err := models.Migrate(ctx, db); err != nil {
			return err
		}
		az, err := models.NewAuthorizer(db)
		if err != nil {
			return err
		}
		defer az.Close()
		if err := az.SyncDefaultPolicy(); err != nil {
			return err
		}
		fmt.Println("migrations applied; default policy synced")
	case "status":
		st, err := models.MigrationsStatus(ctx, db)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied " + s.At.Format(time.RFC3339)
			}
			fmt.Printf("%05d  %-40s %s\n", s.Version, s.File, state)
		}
	default:
		return fmt.Errorf("migrate: unknown command %q (up, status)", cmd)
	}
	return nil
}

func seedCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	schools := fs.Int("schools", 0, "number of schools (0: the demo district)")
	days := fs.Int("days", 0, "school days of activity to generate")
	seedN := fs.Uint64("seed", 1, "random seed")
	fs.Parse(args)
	db, err := openDB(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	empty, err := seed.IsEmpty(ctx, db)
	if err != nil {
		return err
	}
	if !empty {
		return errors.New("seed: the database already has schools; seed an empty database")
	}
	az, err := models.NewAuthorizer(db)
	if err != nil {
		return err
	}
	defer az.Close()
	start := time.Now()
	d, err := seed.Demo(ctx, db, az, seed.Options{Seed: *seedN, Schools: *schools, Days: *days, Progress: os.Stderr})
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("seeded %d schools in %s: %d rows in bulk, %.0f rows/s\n", len(d.Schools), took.Round(time.Millisecond),
		d.BulkRows, float64(d.BulkRows)/took.Seconds())
	printAccounts(d.Accounts)
	return nil
}

// indicatorsCmd rebuilds the indicator rollup rows (all schools, or one)
// for every term overlapping [--from, --to], and their regions' rows.
func indicatorsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return errors.New("indicators: rebuild [--school ID] [--from YYYY-MM-DD --to YYYY-MM-DD]")
	}
	fs := flag.NewFlagSet("indicators rebuild", flag.ExitOnError)
	school := fs.Int64("school", 0, "only this school")
	from := fs.String("from", "", "terms ending on or after this date")
	to := fs.String("to", "", "terms starting on or before this date")
	fs.Parse(args[1:])
	for _, d := range []string{*from, *to} {
		if _, err := time.Parse(models.DateLayout, d); d != "" && err != nil {
			return models.Invalid("error.bad_date", map[string]any{"Value": d})
		}
	}
	db, err := openDB(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	var ids []int64
	if *school > 0 {
		if _, err := models.GetSchool(ctx, db, *school); err != nil {
			return fmt.Errorf("no school %d", *school)
		}
		ids = []int64{*school}
	}
	start := time.Now()
	res, err := models.RebuildIndicatorRollups(ctx, db, ids, *from, *to, models.School{}.Today(time.Now()))
	if err != nil {
		return err
	}
	for _, p := range res.Periods {
		fmt.Printf("%s  %s..%s\n", p.Key, p.From, p.To)
	}
	fmt.Printf("rebuilt %d schools × %d terms in %s\n", res.Schools, len(res.Periods), time.Since(start).Round(time.Millisecond))
	return nil
}

func userCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("user: create, grant, revoke or password")
	}
	fs := flag.NewFlagSet("user", flag.ExitOnError)
	username := fs.String("username", "", "username")
	name := fs.String("name", "", "display name")
	school := fs.Int64("school", 0, "home school id")
	role := fs.String("role", "", "role: "+strings.Join(policies.Roles, ", "))
	domain := fs.String("domain", "", "school:<id>, region:<code> or *")
	fs.Parse(args[1:])
	db, err := openDB(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	az, err := models.NewAuthorizer(db)
	if err != nil {
		return err
	}
	defer az.Close()
	ctx = models.WithActor(ctx, models.Actor{RequestID: "cli"})
	switch args[0] {
	case "create":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		var sid *int64
		if *school > 0 {
			sid = school
		}
		u, err := models.CreateAccount(ctx, db, models.NewAccount{Username: *username, DisplayName: *name, Password: pw, SchoolID: sid})
		if err != nil {
			return err
		}
		fmt.Printf("created user %s (id %d)\n", u.Username, u.ID)
	case "grant", "revoke":
		u, err := models.UserByUsername(ctx, db, *username)
		if err != nil {
			return fmt.Errorf("no user %q", *username)
		}
		if args[0] == "grant" {
			if err := models.CheckGrant(ctx, db, *role, *domain); err != nil {
				return err
			}
			err = az.Grant(ctx, u.ID, *role, *domain)
		} else {
			err = az.Revoke(ctx, u.ID, *role, *domain)
		}
		if err != nil {
			return err
		}
		fmt.Printf("%s %s %s in %s\n", args[0], u.Username, *role, *domain)
	case "password":
		u, err := models.UserByUsername(ctx, db, *username)
		if err != nil {
			return fmt.Errorf("no user %q", *username)
		}
		pw, err := readPassword()
		if err != nil {
			return err
		}
		if err := models.ResetPassword(ctx, db, u.ID, pw, false); err != nil {
			return err
		}
		fmt.Printf("password of %s changed; their sessions were ended\n", u.Username)
	default:
		return fmt.Errorf("user: unknown command %q", args[0])
	}
	return nil
}

// readPassword takes JIANFU_PASSWORD, else one line of stdin: never a flag,
// so it stays out of shell history and process lists.
func readPassword() (string, error) {
	if pw := os.Getenv("JIANFU_PASSWORD"); pw != "" {
		return pw, nil
	}
	fmt.Fprint(os.Stderr, "password: ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password given (JIANFU_PASSWORD or stdin)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
