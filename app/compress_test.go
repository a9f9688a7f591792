package app_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

// TestCompressionAndCaching: pages go out gzipped; the chart library goes out
// brotli-compressed at a content-hashed URL cached for a year; /favicon.ico
// leads to the icon.
func TestCompressionAndCaching(t *testing.T) {
	e := apptest.New(t, models.SQLite)
	get := func(path, enc string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.HTTP.URL+path, nil)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get("/login", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("login page not gzipped: %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(zr)
	if !strings.Contains(string(page), "登录") {
		t.Fatal("the gzipped page does not decode to the login page")
	}
	// The page links its assets by content hash.
	m := regexp.MustCompile(`href="(/static/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(string(page))
	if m == nil {
		t.Fatal("the page does not link app.css by its hash")
	}
	css := get(m[1], "br, gzip")
	if css.Header.Get("Content-Encoding") != "br" || !strings.Contains(css.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("hashed css: encoding %q, cache %q", css.Header.Get("Content-Encoding"), css.Header.Get("Cache-Control"))
	}
	js := get("/static/vendor/echarts.min.js", "br")
	n, _ := io.Copy(io.Discard, js.Body)
	if js.Header.Get("Content-Encoding") != "br" || n > 300_000 {
		t.Fatalf("chart library: %q, %d bytes on the wire (664 KB raw)", js.Header.Get("Content-Encoding"), n)
	}
	fav := get("/favicon.ico", "")
	if fav.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(fav.Header.Get("Location"), "/static/favicon.svg") {
		t.Fatalf("favicon: %d %s", fav.StatusCode, fav.Header.Get("Location"))
	}
}
