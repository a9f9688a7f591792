// Package app is the Echo server: routes, handlers (JSON API and HTML pages),
// middleware and configuration. Handlers are thin: bind, authorize, call a
// model operation, render.
package app

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/views"
)

// Config is what the server reads from flags and the environment.
type Config struct {
	Addr          string // ADDR, default :8080
	DatabaseURL   string // DATABASE_URL; empty means the embedded SQLite file
	SecureCookies bool   // COOKIE_SECURE: set behind TLS
	TrustProxy    bool   // TRUST_PROXY: take the client IP from X-Forwarded-For (behind a load balancer)
	// PublicURL (PUBLIC_URL) is the site's own address, e.g.
	// https://jianfu.example.edu.cn: absolute links (calendar feeds) are built
	// from it, never from the request's Host header.
	PublicURL string
	// MetricsToken (METRICS_TOKEN): /metrics answers only a request with
	// "Authorization: Bearer <token>"; empty, /metrics answers 404.
	MetricsToken string
	// HTTP server timeouts; zero takes the default (README "Running in
	// production"): slow or idle clients cannot hold the replica's handles.
	ReadHeaderTimeout time.Duration // HTTP_READ_HEADER_TIMEOUT, 5 s
	ReadTimeout       time.Duration // HTTP_READ_TIMEOUT, 30 s
	WriteTimeout      time.Duration // HTTP_WRITE_TIMEOUT, 60 s
	IdleTimeout       time.Duration // HTTP_IDLE_TIMEOUT, 120 s
	// ShutdownGrace (SHUTDOWN_GRACE, 10 s): after SIGTERM the server keeps
	// serving this long with /readyz at 503, so the load balancer stops
	// sending, then drains.
	ShutdownGrace time.Duration
	// ReplicaURL (DATABASE_REPLICA_URL) names a PostgreSQL streaming standby
	// for the reads that may lag: dashboards, exports, reports. Empty: none.
	ReplicaURL string
	Now        func() time.Time
}

// Defaults of the HTTP timeouts.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownGrace     = 10 * time.Second
	drainTimeout             = 25 * time.Second
)

// Server wires the database, the authorizer, the views and the routes.
type Server struct {
	Cfg     Config
	DB      *gorm.DB
	Authz   *models.Authorizer
	Reads   *models.Replica // reads that may lag: the standby while it is up, else DB
	E       *echo.Echo
	views   *views.Renderer
	perms   map[string]Permission // "METHOD path" → declared permission
	metrics *metrics
	links   []HomeLink // home tiles, added by the areas as they register

	// ownBodyLimit: "METHOD path" of routes that bound their body themselves.
	ownBodyLimit map[string]bool
	// draining is set when shutdown begins: /readyz answers 503 from then on.
	draining atomic.Bool
}

// Area registers one part of the product: its routes, each with its
// declared permission, and its home tiles. The server calls each area it is
// given, in order (the one list is jianfu/app/areas).
type Area func(r Router, d Deps)

// Router is how an area registers its routes and home tiles.
type Router interface {
	// Group is an Echo group for prefix; register on it through Route.
	Group(prefix string) *echo.Group
	// Route registers h with its declared permission.
	Route(g *echo.Group, method, path string, h echo.HandlerFunc, p Permission)
	// AddHomeLinks adds tiles to the home page of the links' roles.
	AddHomeLinks(l ...HomeLink)
	// Use adds a middleware in front of every route.
	Use(m ...echo.MiddlewareFunc)
}

// Deps is what an area's handlers use of the kernel: the database, the
// authorizer, the configuration and the rendering and form helpers.
type Deps struct{ *Server }

// New builds a ready-to-serve server on a migrated database.
func New(cfg Config, db *gorm.DB, areas ...Area) (_ *Server, err error) {
	defer models.Wrap(&err, "app.New")
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&cfg.ReadTimeout, DefaultReadTimeout},
		{&cfg.WriteTimeout, DefaultWriteTimeout}, {&cfg.IdleTimeout, DefaultIdleTimeout}, {&cfg.ShutdownGrace, DefaultShutdownGrace}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	az, err := models.NewAuthorizer(db)
	if err != nil {
		return nil, err
	}
	r, err := views.NewRenderer()
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	reads, err := models.OpenReplica(db, cfg.ReplicaURL, models.ReplicaCheckInterval)
	if err != nil {
		az.Close()
		return nil, err
	}
	s := &Server{Cfg: cfg, DB: db, Authz: az, Reads: reads, E: e, views: r, perms: map[string]Permission{}, ownBodyLimit: map[string]bool{}, metrics: newMetrics()}
	e.Validator = newValidator()
	e.HTTPErrorHandler = s.handleError
	e.Renderer = s
	e.Use(middleware.RequestID())
	e.Use(s.recoverPanics)
	e.Use(s.logRequests)
	e.Use(s.metrics.middleware)
	// 8 MiB for every request but the routes that check a limit of their
	// own (a setting) and answer 413 naming it (see OwnBodyLimit).
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "8M",
		Skipper: func(c echo.Context) bool { return s.ownBodyLimit[c.Request().Method+" "+c.Path()] }}))
	e.Use(guardInput)
	// Pages and JSON go out gzipped; static files compress themselves.
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{Level: 5, MinLength: 1024, Skipper: func(c echo.Context) bool {
		return strings.HasPrefix(c.Request().URL.Path, "/static/") || c.Request().URL.Path == "/metrics"
	}}))
	e.Use(secureHeaders(cfg.SecureCookies))
	e.Use(s.authenticate)
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     "_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   cfg.SecureCookies,
		CookieSameSite: http.SameSiteLaxMode,
		ContextKey:     "csrf",
		// API clients with a bearer token carry no ambient credentials, and
		// the token login sets none: CSRF cannot apply to them.
		Skipper: func(c echo.Context) bool {
			return bearerToken(c) != "" || c.Path() == "/api/v1/auth/login"
		},
		ErrorHandler: func(err error, c echo.Context) error {
			return &models.Error{Kind: models.KindForbidden, Code: "csrf_invalid", MsgID: "error.csrf", Err: err}
		},
	}))
	e.Use(s.idempotency)
	s.routes(areas)
	return s, nil
}

func (s *Server) routes(areas []Area) {
	// Static files: brotli/gzip, a year's cache for {{asset}} URLs (views.StaticHandler).
	s.Route(s.E.Group(""), http.MethodGet, "/static/*", echo.WrapHandler(http.StripPrefix("/static/", views.StaticHandler())), Public())
	s.Route(s.E.Group(""), http.MethodGet, "/favicon.ico", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, views.Asset("favicon.svg"))
	}, Public())
	s.opsRoutes()
	s.authRoutes()
	s.homeRoutes()
	for _, area := range areas {
		area(s, Deps{s})
	}
}

// Group is an Echo group for prefix (Router).
func (s *Server) Group(prefix string) *echo.Group { return s.E.Group(prefix) }

// Use adds middleware in front of every route (Router).
func (s *Server) Use(m ...echo.MiddlewareFunc) { s.E.Use(m...) }

// OwnBodyLimit exempts a registered route (its full path, as in
// PermissionOf) from the server's 8 MiB body limit: its handler must bound
// what it reads itself (http.MaxBytesReader) and answer 413 with its limit.
func (s *Server) OwnBodyLimit(method, path string) { s.ownBodyLimit[method+" "+path] = true }

// AddHomeLinks adds home tiles (Router).
func (s *Server) AddHomeLinks(l ...HomeLink) { s.links = append(s.links, l...) }

// HTTPServer is the http.Server Start runs, with the configured timeouts.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{Addr: s.Cfg.Addr, Handler: s.E, ReadHeaderTimeout: s.Cfg.ReadHeaderTimeout,
		ReadTimeout: s.Cfg.ReadTimeout, WriteTimeout: s.Cfg.WriteTimeout, IdleTimeout: s.Cfg.IdleTimeout,
		MaxHeaderBytes: 64 << 10}
}

// Start serves until ctx is cancelled; then it keeps serving for the grace
// period with /readyz at 503 (the load balancer takes the replica out), and
// drains the requests in flight.
func (s *Server) Start(ctx context.Context) (err error) {
	defer models.Wrap(&err, "app.Start")
	srv := s.HTTPServer()
	s.E.Server = srv
	errc := make(chan error, 1)
	go func() {
		slog.Info("serving", "addr", s.Cfg.Addr, "db", string(models.DialectOf(s.DB)))
		errc <- s.E.StartServer(srv)
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	slog.Info("shutting down: /readyz is 503, still serving for the grace period", "grace_s", s.Cfg.ShutdownGrace.Seconds())
	select {
	case <-time.After(s.Cfg.ShutdownGrace):
	case err := <-errc:
		return err
	}
	slog.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	return srv.Shutdown(sctx)
}

// Draining reports whether shutdown has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// Close releases what New started: the policy watcher's connection and the
// read replica's.
func (s *Server) Close() {
	s.Authz.Close()
	s.Reads.Close()
}

var _ fs.FS = views.Static()

// AbsoluteURL is path on this site's own address: PUBLIC_URL, or without it
// http://localhost<ADDR> (a demo). Never the request's Host header, which the
// client chooses.
func (s *Server) AbsoluteURL(path string) string {
	base := s.Cfg.PublicURL
	if base == "" {
		addr := s.Cfg.Addr
		if strings.HasPrefix(addr, ":") {
			addr = "localhost" + addr
		}
		base = "http://" + addr
	}
	return base + path
}
