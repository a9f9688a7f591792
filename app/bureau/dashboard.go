package bureau

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"jianfu/models"
)

// Cheap dashboard responses (issue 12). A built dashboard is kept in a short
// cache shared by every bureau user of the region (the route's permission
// is checked before the cache is read), valid while the region's rollup
// version (models.DashboardVersion: its pre-summed row and the outbox) has
// not moved, and for dashboardTTL at most (open alerts and alert rules are
// not in the version). The API pages and sorts on the server (worst first by
// default) and answers If-None-Match with 304; the server's gzip middleware
// compresses it on request.

// dashboardTTL bounds how long a cached dashboard may be served.
const dashboardTTL = 15 * time.Second

// Page sizes of the dashboard API.
const (
	defaultPerPage = 100
	maxPerPage     = 1000
)

type dashKey struct{ code, term, today string }

type dashEntry struct {
	d       *models.Dashboard
	version string
	at      time.Time
	mu      sync.Mutex
	pages   map[string]encodedPage // sort|order|page|per_page → body

	// The weekly trend of the same schools and term, built on first use
	// and dropped with the entry (it reads the area rollups week by week,
	// far more than the dashboard's N + 1 rows).
	trendMu sync.Mutex
	weeks   []models.WeekPoint
	hasWeek bool
}

// trend is the entry's weekly trend, computed once per entry.
func (e *dashEntry) trend(ctx context.Context, s *handlers) ([]models.WeekPoint, error) {
	e.trendMu.Lock()
	defer e.trendMu.Unlock()
	if e.hasWeek {
		return e.weeks, nil
	}
	ids := make([]int64, len(e.d.Schools))
	for i, sc := range e.d.Schools {
		ids[i] = sc.ID
	}
	err := s.Reads.Read(ctx, func(db *gorm.DB) error {
		w, err := models.WeeklyTrend(ctx, db, ids, e.d.Term.From, e.d.Term.To)
		e.weeks = w
		return err
	})
	if err != nil {
		return nil, err
	}
	e.hasWeek = true
	return e.weeks, nil
}

type encodedPage struct {
	body []byte
	etag string
}

type dashboardCache struct {
	mu sync.Mutex
	m  map[dashKey]*dashEntry
	// build is one in-flight build per key: twenty staff refreshing at once
	// wait for one build instead of running twenty.
	build map[dashKey]*sync.Mutex
}

func newDashboardCache() *dashboardCache {
	return &dashboardCache{m: map[dashKey]*dashEntry{}, build: map[dashKey]*sync.Mutex{}}
}

// get returns the region's dashboard: from the cache while current, else
// built (on the read replica when there is one) and cached.
func (dc *dashboardCache) get(ctx context.Context, s *handlers, k dashKey) (*dashEntry, error) {
	fresh := func(e *dashEntry, db *gorm.DB) (bool, error) {
		if e == nil || time.Since(e.at) > dashboardTTL {
			return false, nil
		}
		v, err := models.DashboardVersion(ctx, db, k.code, e.d.Term.Key)
		return err == nil && v == e.version, err
	}
	var out *dashEntry
	err := s.Reads.Read(ctx, func(db *gorm.DB) error {
		dc.mu.Lock()
		e := dc.m[k]
		lock := dc.build[k]
		if lock == nil {
			lock = &sync.Mutex{}
			dc.build[k] = lock
		}
		dc.mu.Unlock()
		if ok, err := fresh(e, db); err != nil || ok {
			out = e
			return err
		}
		lock.Lock()
		defer lock.Unlock()
		dc.mu.Lock()
		e = dc.m[k]
		dc.mu.Unlock()
		if ok, err := fresh(e, db); err != nil || ok { // built while we waited
			out = e
			return err
		}
		// The version first: a drain during the build shows as a newer
		// version next time, never as an older build under a newer version.
		term, err := models.ResolveRegionTerm(ctx, db, k.code, k.term, k.today)
		if err != nil {
			return err
		}
		v, err := models.DashboardVersion(ctx, db, k.code, term.Key)
		if err != nil {
			return err
		}
		d, err := models.BuildDashboard(ctx, db, k.code, k.term, k.today)
		if err != nil {
			return err
		}
		out = &dashEntry{d: d, version: v, at: time.Now(), pages: map[string]encodedPage{}}
		dc.mu.Lock()
		for old, e := range dc.m { // yesterday's builds and long-unused ones go
			if old.today != k.today || time.Since(e.at) > 10*dashboardTTL {
				delete(dc.m, old)
			}
		}
		dc.m[k] = out
		dc.mu.Unlock()
		return nil
	})
	return out, err
}

// sorted is the cached dashboard with its schools in the request's order
// (a copy: the cached one is shared).
func sorted(c echo.Context, d *models.Dashboard) (*models.Dashboard, error) {
	key := c.QueryParam("sort")
	if key == "" {
		return d, nil // built worst first
	}
	hib := false
	if def, ok := models.FindDef(d.Defs, key); ok {
		hib = def.HigherIsBetter
	} else if key != "name" && key != "score" {
		return nil, models.Invalid("bureau.sort_unknown", map[string]any{"Key": key})
	}
	if c.QueryParam("order") == "best" {
		hib = !hib
	}
	cp := *d
	cp.Schools = slices.Clone(d.Schools)
	models.SortSchools(cp.Schools, key, hib)
	return &cp, nil
}

// dashboardPage is one page of the dashboard API.
type dashboardPage struct {
	*models.Dashboard
	Schools []models.SchoolIndicators `json:"schools"`
	Total   int                       `json:"total"`
	Page    int                       `json:"page"`
	PerPage int                       `json:"per_page"`
}

func pageParams(c echo.Context) (page, perPage int, err error) {
	page, perPage = 1, defaultPerPage
	if v := c.QueryParam("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, models.Invalid("bureau.page_invalid", map[string]any{"Value": v})
		}
	}
	if v := c.QueryParam("per_page"); v != "" {
		if perPage, err = strconv.Atoi(v); err != nil || perPage < 1 || perPage > maxPerPage {
			return 0, 0, models.Invalid("bureau.per_page_invalid", map[string]any{"Value": v, "Max": maxPerPage})
		}
	}
	return page, perPage, nil
}

func (s *handlers) apiDashboard(c echo.Context) error {
	page, perPage, err := pageParams(c)
	if err != nil {
		return err
	}
	e, err := s.dashboards.get(c.Request().Context(), s, dashKey{c.Param("code"), c.QueryParam("term"), s.Today(nil)})
	if err != nil {
		return err
	}
	key := strings.Join([]string{c.QueryParam("sort"), c.QueryParam("order"), strconv.Itoa(page), strconv.Itoa(perPage)}, "|")
	e.mu.Lock()
	p, ok := e.pages[key]
	e.mu.Unlock()
	if !ok {
		d, err := sorted(c, e.d)
		if err != nil {
			return err
		}
		from := min((page-1)*perPage, len(d.Schools))
		body, err := json.Marshal(dashboardPage{Dashboard: d, Schools: d.Schools[from:min(from+perPage, len(d.Schools))],
			Total: len(d.Schools), Page: page, PerPage: perPage})
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		p = encodedPage{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		e.mu.Lock()
		e.pages[key] = p
		e.mu.Unlock()
	}
	h := c.Response().Header()
	h.Set(echo.HeaderVary, "Authorization, Cookie, Accept-Encoding")
	h.Set("Cache-Control", "private, no-cache") // revalidate each time: the ETag makes that cheap
	h.Set("ETag", p.etag)
	if etagMatch(c.Request().Header.Get("If-None-Match"), p.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, p.body)
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
