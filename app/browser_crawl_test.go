package app_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"jianfu/seed"
	"jianfu/views"
)

// The crawler signs each demo role in on a phone screen (390×844) and follows
// every link it can reach from the home page, in the browser, as the person
// would. On every page: no response ≥ 400 (the page or anything it loads),
// no console error or uncaught exception, no sideways scroll, no catalog key
// or internal token in the text (views.Untranslated), and no form control
// without a label.
//
// To keep CI time to a minute or two, pages whose path differs only in ids
// or query values (/exams/12, /exams/13; ?date=…) count as one shape and are
// visited once per role.

// crawlRoles are the demo accounts the crawler walks, one per role.
var crawlRoles = []string{"admin", "bureau.fuxin", "principal.hz1", "academic.hz1", "head.hz1", "teacher.hz1", "parent.hz1"}

// crawlMaxPages bounds one role's walk.
const crawlMaxPages = 60

// crawlSkip are links that are not pages: downloads, feeds, sign-out, the
// language switch (TestBrowserEnglishSwitch covers it).
var crawlSkip = regexp.MustCompile(`^/(?:static/|api/|lang/|logout|cal/)|\.(?:ics|xlsx|csv|png|svg)(?:$|\?)`)

var digits = regexp.MustCompile(`[0-9]+`)

// shapeOf is a link with ids and query values taken out.
func shapeOf(u *url.URL) string {
	keys := make([]string, 0, len(u.Query()))
	for k := range u.Query() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return digits.ReplaceAllString(u.Path, "N") + "?" + strings.Join(keys, "&")
}

// pageWatch collects what a tab reports while it loads a page.
type pageWatch struct {
	mu     sync.Mutex
	bad    []string // responses ≥ 400
	errors []string // console errors, exceptions, failed loads
}

func (w *pageWatch) take() (bad, errs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	bad, errs, w.bad, w.errors = w.bad, w.errors, nil, nil
	return bad, errs
}

func (v *visitor) watch() *pageWatch {
	v.t.Helper()
	w := &pageWatch{}
	err := chromedp.Listen(v.ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventResponseReceived:
			if e.Response != nil && e.Response.Status >= 400 {
				w.bad = append(w.bad, fmt.Sprintf("%d %s", e.Response.Status, e.Response.URL))
			}
		case *runtime.EventExceptionThrown:
			if e.ExceptionDetails != nil {
				w.errors = append(w.errors, "exception: "+e.ExceptionDetails.Text)
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				w.errors = append(w.errors, "console.error")
			}
		case *log.EventEntryAdded:
			if e.Entry != nil && e.Entry.Level == log.EntryLevelError {
				w.errors = append(w.errors, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	if err != nil {
		v.t.Fatalf("listen: %v", err)
	}
	return w
}

// unlabeled lists the page's form controls that no label names (no <label>,
// aria-label or title): a screen reader reads them as "edit text".
func (v *visitor) unlabeled() []string {
	v.t.Helper()
	return run(v, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
		'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea'))
		.filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby") && !el.title)
		.map(el => el.name || el.id || el.outerHTML.slice(0, 60))`))
}

// links are the same-site links of the page.
func (v *visitor) links() []string {
	v.t.Helper()
	return run(v, "links", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("a[href]")).map(a => a.getAttribute("href"))`))
}

func TestBrowserCrawlEveryRole(t *testing.T) {
	_, c := newBrowserEnv(t)
	shots := os.Getenv("JIANFU_SCREENSHOTS")
	for _, user := range crawlRoles {
		t.Run(user, func(t *testing.T) {
			v := c.visitor(t)
			v.phone()
			w := v.watch()
			v.signIn(user, seed.DemoPassword)
			if loc := v.location(); strings.Contains(loc, "/login") {
				t.Fatalf("%s could not sign in", user)
			}
			w.take()
			// The watch itself must see a failure: a missing page is a 404
			// and a script error is reported.
			v.visit("/no-such-page")
			v.eval(`setTimeout(function () { throw new Error("probe") }, 0), "ok"`)
			time.Sleep(200 * time.Millisecond)
			if bad, errs := w.take(); len(bad) == 0 || len(errs) == 0 {
				t.Fatalf("the crawler's watch sees no 404 (%v) or no script error (%v)", bad, errs)
			}
			v.visit("/")
			w.take()
			// The role's main page at phone size, for the README.
			if shots != "" && os.MkdirAll(shots, 0o755) == nil {
				png := run(v, "screenshot", chromedp.CaptureScreenshot())
				_ = os.WriteFile(filepath.Join(shots, "role-"+user+".png"), png, 0o644)
			}
			seen := map[string]bool{"/?": true}
			queue := []string{"/"}
			visited := 0
			for len(queue) > 0 && visited < crawlMaxPages {
				path := queue[0]
				queue = queue[1:]
				v.visit(path)
				visited++
				bad, errs := w.take()
				for _, b := range bad {
					t.Errorf("%s %s: response %s", user, path, b)
				}
				for _, m := range errs {
					t.Errorf("%s %s: %s", user, path, m)
				}
				if sw := v.scrollWidth(); sw > phoneWidth {
					t.Errorf("%s %s: scrolls sideways on a %d px phone (scrollWidth %d)", user, path, phoneWidth, sw)
				}
				if found := views.Untranslated(v.text()); len(found) > 0 {
					t.Errorf("%s %s: internal keys on screen: %v", user, path, found)
				}
				if un := v.unlabeled(); len(un) > 0 {
					t.Errorf("%s %s: form controls without a label: %v", user, path, un)
				}
				for _, href := range v.links() {
					u, err := url.Parse(href)
					if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") || crawlSkip.MatchString(u.Path) {
						continue
					}
					u.Fragment = ""
					if s := shapeOf(u); !seen[s] {
						seen[s] = true
						queue = append(queue, u.RequestURI())
					}
				}
			}
			t.Logf("%s: %d pages (%d shapes seen, %d not visited)", user, visited, len(seen), len(queue))
			if visited < 5 {
				t.Errorf("%s reached only %d pages: the walk is broken", user, visited)
			}
		})
	}
}
