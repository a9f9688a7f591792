// Package views holds the html/template pages, partials, static assets and
// the zh-CN/en message catalogs, all embedded in the binary.
package views

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed layouts partials pages locales
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// Static is the static asset tree (css, vendored htmx and echarts).
func Static() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

// Languages the UI speaks; the first is the default.
var Languages = []string{"zh-CN", "en"}

var (
	bundleOnce sync.Once
	bundle     *i18n.Bundle
	bundleErr  error
)

// Bundle loads every locales/*.<lang>.toml catalog once. Each area keeps its
// own files (homework.zh-CN.toml, homework.en.toml …).
func Bundle() (*i18n.Bundle, error) {
	bundleOnce.Do(func() {
		b := i18n.NewBundle(language.MustParse("zh-CN"))
		b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
		files, err := fs.Glob(templatesFS, "locales/*.toml")
		if err != nil {
			bundleErr = err
			return
		}
		for _, f := range files {
			if _, err := b.LoadMessageFileFS(templatesFS, f); err != nil {
				bundleErr = fmt.Errorf("load %s: %w", f, err)
				return
			}
		}
		bundle = b
	})
	return bundle, bundleErr
}

// Translator localizes message ids into one language.
type Translator struct {
	Lang string
	loc  *i18n.Localizer
}

// NewTranslator returns a translator for lang (falls back to zh-CN).
func NewTranslator(lang string) *Translator {
	b, err := Bundle()
	if err != nil {
		panic(err) // catalogs are embedded; a broken one fails the tests
	}
	return &Translator{Lang: lang, loc: i18n.NewLocalizer(b, lang, Languages[0])}
}

// T returns the message for id; params fill {{.Name}} placeholders. An
// unknown id comes back as itself, so a gap is visible, not fatal.
func (t *Translator) T(id string, params ...any) string {
	var data any
	if len(params) == 1 {
		data = params[0]
	} else if len(params) > 1 {
		m := map[string]any{}
		for i := 0; i+1 < len(params); i += 2 {
			m[fmt.Sprint(params[i])] = params[i+1]
		}
		data = m
	}
	s, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil || s == "" {
		return id
	}
	return s
}

// Enum names an internal value (an audit action, a job outcome …) in the
// user's language: the message group.value, e.g. Enum "audit.action" "create".
func (t *Translator) Enum(group, value string) string { return t.T(group + "." + value) }

// Text is T without parameters, as a plain func(string) string (labels for
// the Excel template and import).
func (t *Translator) Text(id string) string { return t.T(id) }

// MatchLanguage picks a supported language from a cookie value or an
// Accept-Language header.
func MatchLanguage(cookie, acceptLanguage string) string {
	for _, l := range Languages {
		if strings.EqualFold(cookie, l) {
			return l
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err == nil {
		for _, tag := range tags {
			base, _ := tag.Base()
			if base.String() == "zh" {
				return "zh-CN"
			}
			if base.String() == "en" {
				return "en"
			}
		}
	}
	return Languages[0]
}

// NavLink is one entry of the home page and top bar.
type NavLink struct {
	URL   string
	Label string // message id
	Icon  string
}

// Page is the view model every page gets: the chrome (user, language, CSRF
// token, navigation) and Data, the page's own typed view model.
type Page struct {
	*Translator
	Title     string // message id
	User      any
	UserName  string
	CSRF      string
	Nav       []NavLink
	Flash     string
	Error     string
	Path      string
	Data      any
	RequestID string
}

// Renderer renders pages/<area>/<name>.html inside layouts/base.html with
// every partial, into a buffer first so a template error never sends half a page.
type Renderer struct {
	pages map[string]*template.Template
}

// Funcs available to every template.
var Funcs = template.FuncMap{
	"add":  func(a, b int) int { return a + b },
	"sub":  func(a, b int) int { return a - b },
	"mul":  func(a, b int) int { return a * b },
	"join": strings.Join,
	"pct":  func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"f1":   func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"f2":   func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"seq": func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	},
	"dict": dict,
	// deref reads an optional number (0 when unset).
	"deref": func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	},
	"asset": Asset,
	"fen":   func(n int) float64 { return float64(n) / 100 }, // fen → yuan
	// webcal turns an http(s) calendar URL into the webcal:// form a phone's
	// calendar app subscribes to.
	// The URL is the server's own (html/template would blank an unknown scheme).
	"webcal": func(u string) template.URL {
		if rest, ok := strings.CutPrefix(u, "https://"); ok {
			return template.URL("webcal://" + rest)
		}
		return template.URL("webcal://" + strings.TrimPrefix(u, "http://"))
	},
	"width": func(part, whole int) int {
		if whole <= 0 {
			return 0
		}
		w := part * 100 / whole
		if w > 100 {
			w = 100
		}
		return w
	},
}

func dict(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return m
}

// NewRenderer parses every page once.
func NewRenderer() (*Renderer, error) {
	if _, err := Bundle(); err != nil {
		return nil, err
	}
	partials, err := fs.Glob(templatesFS, "partials/*.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(templatesFS, "pages/*/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, p := range pages {
		files := append([]string{"layouts/base.html"}, partials...)
		files = append(files, p)
		t, err := template.New("base.html").Funcs(Funcs).ParseFS(templatesFS, files...)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "pages/"), path.Ext(p))
		r.pages[name] = t
	}
	return r, nil
}

// Has reports whether a page exists.
func (r *Renderer) Has(name string) bool { _, ok := r.pages[name]; return ok }

// Execute renders page name with data into w. A page whose template defines
// "fragment" can be rendered alone (htmx swaps) with name+"#fragment".
func (r *Renderer) Execute(w io.Writer, name string, data any) error {
	tmplName := "base.html"
	if base, frag, ok := strings.Cut(name, "#"); ok {
		name, tmplName = base, frag
	}
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmplName, data); err != nil {
		return err
	}
	_, err := buf.WriteTo(w)
	return err
}

var (
	keysOnce sync.Once
	keys     map[string]bool
)

// catalogKeySet is every message id of every catalog.
func catalogKeySet() map[string]bool {
	keysOnce.Do(func() {
		keys = map[string]bool{}
		files, _ := fs.Glob(templatesFS, "locales/*.toml")
		for _, f := range files {
			b, err := fs.ReadFile(templatesFS, f)
			if err != nil {
				continue
			}
			m := map[string]any{}
			if toml.Unmarshal(b, &m) == nil {
				for k := range m {
					keys[k] = true
				}
			}
		}
	})
	return keys
}

// internalTokens are values that mean something to the code and nothing to a
// person: Casbin domains, dotted indicator keys, role and status codes.
var internalTokens = regexp.MustCompile(`\b(?:school|region):[0-9]+\b|\b(?:as|hw|ex|cp)\.[a-z_]+\b|\b(?:head_teacher|nine_year|homework_guidance|first_come|in_school|program_session|school_report|homework_item)\b`)

// dottedWord finds candidates for a message id in page text.
var dottedWord = regexp.MustCompile(`\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b`)

// Untranslated returns the message ids and internal tokens found in a page's
// visible text: a message id means T was given a key the catalogs lack (or a
// value was shown untranslated), a token means an internal value reached the
// screen. Usernames (teacher.hz1) are not message ids and are not reported.
func Untranslated(text string) []string {
	var out []string
	set := catalogKeySet()
	for _, w := range dottedWord.FindAllString(text, -1) {
		if set[w] {
			out = append(out, w)
		}
	}
	out = append(out, internalTokens.FindAllString(text, -1)...)
	return out
}
