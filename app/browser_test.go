package app_test

// Browser tests: headless Chromium (Debian's `chromium`) drives the real
// server over HTTP and signs in through the real login form.
//
// Adding a page of an area is one line in areaPages (browser_pages_test.go):
//
//	browserPage{Name: "homework/board", User: "parent.hz1", Path: "/homework", Want: []string{"作业"}},
//
// TestBrowserPages then, for each case: opens a fresh visitor (own cookies)
// on a phone screen (390×844), signs User in (password jianfu-demo), opens
// Path — or PathFor(e) when the path needs ids, e.g.
// func(e *apptest.Env) string { return fmt.Sprintf("/classes/%d", e.Class(e.HZ1().ID, 4, 1).ID) } —
// checks that the page shows every Want text and does not overflow the screen
// sideways, and saves a full-page screenshot. Screenshots go to t.TempDir();
// set JIANFU_SCREENSHOTS=<dir> to keep them (the test log names each file).
//
// For a flow (click, fill in, submit) write a test with the same helpers:
// e, c := newBrowserEnv(t); v := c.visitor(t); v.signIn("teacher.hz1");
// v.visit("/x"); v.fill(`input[name="minutes"]`, "20"); v.submit(`#my-form button`);
// v.text(); v.screenshot("name"). Every step has a bounded timeout.
//
// Without Chromium the tests skip; on CI (CI set) they fail instead.
// `go test -short` skips them too.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jianfu/app/apptest"
	"jianfu/models"
	"jianfu/seed"
)

// browserPage is one page to check in the browser.
type browserPage struct {
	Name    string                      // subtest name, "<area>/<what>"
	User    string                      // demo account to sign in as ("" = not signed in)
	Path    string                      // the page
	PathFor func(e *apptest.Env) string // instead of Path, when it needs ids
	Want    []string                    // texts the page must show
}

// browserPages are checked by TestBrowserPages, with areaPages after them.
var browserPages = []browserPage{
	// Each demo role sees its home page with its role name.
	{Name: "home/admin", User: "admin", Path: "/", Want: []string{"系统管理员", "账号"}},
	{Name: "home/bureau.fuxin", User: "bureau.fuxin", Path: "/", Want: []string{"教育局", "阜新市"}},
	{Name: "home/bureau.haizhou", User: "bureau.haizhou", Path: "/", Want: []string{"教育局", "海州区"}},
	{Name: "home/principal.hz1", User: "principal.hz1", Path: "/", Want: []string{"校长", "阜新市海州区实验学校"}},
	{Name: "home/academic.hz1", User: "academic.hz1", Path: "/", Want: []string{"教务主任", "阜新市海州区实验学校"}},
	{Name: "home/head.hz1", User: "head.hz1", Path: "/", Want: []string{"班主任", "阜新市海州区实验学校"}},
	{Name: "home/teacher.hz1", User: "teacher.hz1", Path: "/", Want: []string{"任课教师", "阜新市海州区实验学校"}},
	{Name: "home/parent.hz1", User: "parent.hz1", Path: "/", Want: []string{"家长", "阜新市海州区实验学校"}},
	{Name: "home/principal.xq1", User: "principal.xq1", Path: "/", Want: []string{"校长", "阜新市新邱区第一小学"}},
	// Admin pages.
	{Name: "admin/regions", User: "admin", Path: "/admin/regions", Want: []string{"区域", "海州区", "210902"}},
	{Name: "admin/schools", User: "admin", Path: "/admin/schools", Want: []string{"新建学校", "学校标识码", "阜新市海州区实验学校"}},
	{Name: "admin/users", User: "admin", Path: "/admin/users?q=hz1", Want: []string{"新建账号", "teacher.hz1"}},
	{Name: "admin/audit", User: "admin", Path: "/admin/audit", Want: []string{"审计日志", "对象类型"}},
	{Name: "admin/audit-bureau", User: "bureau.haizhou", Path: "/admin/audit", Want: []string{"仅显示您所辖学校的记录"}},
	{Name: "auth/login", Path: "/login", Want: []string{"登录", "用户名", "密码"}},
	{Name: "account/password", User: "teacher.hz1", Path: "/account/password", Want: []string{"修改密码", "当前密码"}},
}

// Phone is the screen the page cases run on (an iPhone 12–15 in CSS pixels).
const phoneWidth, phoneHeight = 390, 844

func TestBrowserPages(t *testing.T) {
	e, c := newBrowserEnv(t)
	for _, p := range append(browserPages, areaPages()...) {
		t.Run(p.Name, func(t *testing.T) {
			v := c.visitor(t)
			v.phone()
			if p.User != "" {
				v.signIn(p.User, seed.DemoPassword)
			}
			path := p.Path
			if p.PathFor != nil {
				path = p.PathFor(e)
			}
			v.visit(path)
			text := v.text()
			for _, w := range p.Want {
				if !strings.Contains(text, w) {
					t.Errorf("%s as %s: no %q in the page:\n%s", path, p.User, w, text)
				}
			}
			if w := v.scrollWidth(); w > phoneWidth {
				t.Errorf("%s overflows a %d px phone screen sideways: scrollWidth %d", path, phoneWidth, w)
			}
			v.screenshot(strings.ReplaceAll(p.Name, "/", "_"))
		})
	}
}

func TestBrowserLoginFailure(t *testing.T) {
	_, c := newBrowserEnv(t)
	v := c.visitor(t)
	v.signIn("teacher.hz1", "not-the-password")
	if text := v.text(); !strings.Contains(text, "用户名或密码不正确") {
		t.Fatalf("no error after a wrong password:\n%s", text)
	}
	if u := v.location(); !strings.HasSuffix(u, "/login") {
		t.Errorf("after a failed login the browser is at %s", u)
	}
	// The username stays filled in; the password does not.
	if got := v.eval(`document.querySelector('input[name="username"]').value + "|" + document.querySelector('input[name="password"]').value`); got != "teacher.hz1|" {
		t.Errorf("form after failure: %q", got)
	}
	v.screenshot("login_failure")
}

func TestBrowserEnglishSwitch(t *testing.T) {
	_, c := newBrowserEnv(t)
	v := c.visitor(t)
	v.signIn("principal.hz1", seed.DemoPassword)
	if !strings.Contains(v.text(), "校长") {
		t.Fatal("home page not in Chinese")
	}
	v.click(`a[href^="/lang/en"]`)
	text := v.text()
	if !strings.Contains(text, "Principal") || !strings.Contains(text, "Sign out") || strings.Contains(text, "首页") {
		t.Errorf("home page after the English switch:\n%s", text)
	}
	if u := v.location(); !strings.HasSuffix(u, "/") {
		t.Errorf("the switch left the page: %s", u)
	}
	v.screenshot("home_en")
	v.click(`a[href^="/lang/zh-CN"]`)
	if text := v.text(); !strings.Contains(text, "首页") || !strings.Contains(text, "退出") {
		t.Error("back to Chinese failed")
	}
}

// --- harness ---------------------------------------------------------------

// browserStep bounds each browser step; browserLife bounds a whole browser.
const (
	browserStep = 20 * time.Second
	browserLife = 10 * time.Minute
)

// chromiumPath finds Chromium, or skips the test (fails it on CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("browser test: no Chromium on CI (apt-get install chromium)")
	}
	t.Skip("browser test: no Chromium (apt-get install chromium, or set CHROMIUM)")
	return ""
}

// chrome is one headless Chromium process.
type chrome struct {
	e   *apptest.Env
	ctx context.Context
}

// newBrowserEnv starts the real server on a fresh seeded SQLite database and
// a headless Chromium; both stop when the test ends.
func newBrowserEnv(t *testing.T) (*apptest.Env, *chrome) {
	t.Helper()
	path := chromiumPath(t)
	e := apptest.New(t, models.SQLite)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("accept-lang", "zh-CN,zh"), // the product's default language, whatever the machine's locale
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	life, cancelLife := context.WithTimeout(context.Background(), browserLife)
	alloc, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	quiet := func(string, ...any) {}
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(quiet), chromedp.WithErrorf(quiet))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelLife()
	})
	// Start the browser on its own context: a step's timeout must not end it.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return e, &chrome{e: e, ctx: browser}
}

// visitor is one browser tab in a browser context of its own (own cookies,
// like a separate person), closed when t ends.
type visitor struct {
	t   *testing.T
	e   *apptest.Env
	ctx context.Context
}

func (c *chrome) visitor(t *testing.T) *visitor {
	t.Helper()
	ctx, cancel := chromedp.NewContext(c.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return &visitor{t: t, e: c.e, ctx: ctx}
}

// do runs steps with the step timeout.
func (v *visitor) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		v.t.Fatalf("browser: %s: %v", what, err)
	}
}

// run runs one step with a result, with the step timeout.
func run[T any](v *visitor, what string, a chromedp.Action[T]) T {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, browserStep)
	defer cancel()
	out, err := chromedp.Run(ctx, a)
	if err != nil {
		v.t.Fatalf("browser: %s: %v", what, err)
	}
	return out
}

// phone makes the tab a 390×844 touch screen (layout follows the page's
// viewport meta, as on a real phone).
func (v *visitor) phone() {
	v.t.Helper()
	v.do("phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile))
}

// visit opens path on the server and waits for the page to load.
func (v *visitor) visit(path string) {
	v.t.Helper()
	v.do("open "+path, chromedp.Navigate(v.e.HTTP.URL+path))
}

// signIn signs in through the login form; it does not check the outcome
// (TestBrowserLoginFailure wants the failure page).
func (v *visitor) signIn(username, password string) {
	v.t.Helper()
	v.visit("/login")
	v.fill(`input[name="username"]`, username)
	v.fill(`input[name="password"]`, password)
	v.submit(`main form button[type="submit"]`)
}

// fill types value into the (empty) field matching the CSS selector.
func (v *visitor) fill(sel, value string) {
	v.t.Helper()
	v.do("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// submit clicks the button matching sel and waits for the next page.
func (v *visitor) submit(sel string) { v.t.Helper(); v.click(sel) }

// click clicks the element matching sel and waits for the page it leads to.
func (v *visitor) click(sel string) {
	v.t.Helper()
	run(v, "mark page", chromedp.Evaluate[bool](`window.__jfOld = true`))
	v.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
	v.waitNewPage()
}

// waitNewPage waits until the marked document was replaced by a loaded one.
// Evaluating while the tab navigates fails ("target navigated"); that is
// expected here, so it retries until the step timeout.
func (v *visitor) waitNewPage() {
	v.t.Helper()
	deadline := time.Now().Add(browserStep)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(v.ctx, 2*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__jfOld && document.readyState === "complete"`))
		cancel()
		if err == nil && done {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	v.t.Fatalf("browser: no new page within %s (last error: %v)", browserStep, last)
}

// eval evaluates a JavaScript expression with a string result.
func (v *visitor) eval(expr string) string {
	v.t.Helper()
	return run(v, "eval", chromedp.Evaluate[string](expr))
}

// text is what the page shows (document.body.innerText).
func (v *visitor) text() string { v.t.Helper(); return v.eval(`document.body.innerText`) }

// location is the tab's current URL.
func (v *visitor) location() string { v.t.Helper(); return v.eval(`location.href`) }

// scrollWidth is the document's width in CSS pixels: more than the screen
// width means the page scrolls sideways.
func (v *visitor) scrollWidth() int {
	v.t.Helper()
	return run(v, "scrollWidth", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
}

// screenshot saves a full-page PNG and returns its path.
func (v *visitor) screenshot(name string) string {
	v.t.Helper()
	png := run(v, "screenshot", chromedp.FullScreenshot(100))
	dir := os.Getenv("JIANFU_SCREENSHOTS")
	if dir == "" {
		dir = v.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		v.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		v.t.Fatal(err)
	}
	v.t.Logf("screenshot: %s (%d bytes)", path, len(png))
	return path
}
