package views

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

func get(t *testing.T, url string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	StaticHandler().ServeHTTP(rec, req)
	return rec
}

// TestStaticCompressedAndCached: the chart library (664 KB) goes out brotli-
// or gzip-compressed, decompresses to the same bytes, and a hashed URL may be
// cached for a year while a bare one is revalidated.
func TestStaticCompressedAndCached(t *testing.T) {
	raw := get(t, "/vendor/echarts.min.js", nil)
	if raw.Code != 200 || raw.Header().Get("Content-Encoding") != "" || raw.Body.Len() < 600_000 {
		t.Fatalf("identity: %d %q %d bytes", raw.Code, raw.Header().Get("Content-Encoding"), raw.Body.Len())
	}
	br := get(t, "/vendor/echarts.min.js", map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	if br.Header().Get("Content-Encoding") != "br" || br.Body.Len()*3 > raw.Body.Len() {
		t.Fatalf("br: %q %d bytes of %d", br.Header().Get("Content-Encoding"), br.Body.Len(), raw.Body.Len())
	}
	t.Logf("echarts.min.js: %d bytes raw, %d brotli", raw.Body.Len(), br.Body.Len())
	got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br.Body.Bytes())))
	if err != nil || !bytes.Equal(got, raw.Body.Bytes()) {
		t.Fatalf("br body does not decompress to the file: %v", err)
	}
	gz := get(t, "/vendor/echarts.min.js", map[string]string{"Accept-Encoding": "gzip"})
	zr, err := gzip.NewReader(bytes.NewReader(gz.Body.Bytes()))
	if err != nil || gz.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %q %v", gz.Header().Get("Content-Encoding"), err)
	}
	t.Logf("echarts.min.js: %d bytes gzip", gz.Body.Len())
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, raw.Body.Bytes()) {
		t.Fatal("gzip body does not decompress to the file")
	}
	if !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatal("no Vary: Accept-Encoding")
	}
	if gz.Header().Get("ETag") == br.Header().Get("ETag") {
		t.Fatal("two encodings share an ETag")
	}
	url := Asset("vendor/echarts.min.js")
	if !strings.Contains(url, "?v=") {
		t.Fatalf("Asset: %s", url)
	}
	if cc := get(t, strings.TrimPrefix(url, "/static"), nil).Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("hashed URL Cache-Control: %q", cc)
	}
	if cc := get(t, "/vendor/echarts.min.js?v=stale", nil).Header().Get("Cache-Control"); strings.Contains(cc, "immutable") {
		t.Fatalf("a stale hash is cached for a year: %q", cc)
	}
	nm := get(t, "/app.css", map[string]string{"If-None-Match": get(t, "/app.css", nil).Header().Get("ETag")})
	if nm.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", nm.Code)
	}
	if get(t, "/nope.js", nil).Code != 404 || get(t, "/../views.go", nil).Code != 404 {
		t.Fatal("missing files must 404")
	}
	if get(t, "/favicon.svg", nil).Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatal("favicon type")
	}
}
