package views

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// catalogKeys reads every key of the catalogs of one language.
func catalogKeys(t *testing.T, lang string) map[string]string {
	t.Helper()
	files, err := fs.Glob(templatesFS, "locales/*."+lang+".toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s catalogs: %v", lang, err)
	}
	keys := map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(templatesFS, f)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := toml.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range m {
			if _, dup := keys[k]; dup {
				t.Errorf("%s: key %q defined twice", f, k)
			}
			keys[k] = v
		}
	}
	return keys
}

// TestCatalogsHaveTheSameKeys: a key in one language and not the other shows
// the key itself to the other language's users.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	zh, en := catalogKeys(t, "zh-CN"), catalogKeys(t, "en")
	var missing []string
	for k := range zh {
		if _, ok := en[k]; !ok {
			missing = append(missing, "en: "+k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			missing = append(missing, "zh-CN: "+k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("keys missing from a catalog:\n%s", strings.Join(missing, "\n"))
	}
}

// sourceStrings scans the Go files (not tests) under dir for re and returns
// the first group of every match.
func sourceStrings(t *testing.T, dir string, re *regexp.Regexp) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			for _, g := range m[1:] {
				if g != "" {
					out = append(out, g)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInternalKeysAreTranslated: every audit action and record type written
// by the models, every job name and outcome has a name in the catalogs, so
// the audit log and the jobs page never show a raw key. The scan reads the
// source, so a new Audit call without its entry fails here.
func TestInternalKeysAreTranslated(t *testing.T) {
	zh := catalogKeys(t, "zh-CN")
	// Audit(ctx, tx, school, "action", "entity", …) and the action variables.
	audit := regexp.MustCompile(`Audit\([^,]+, [^,]+, [^,]+, (?:"([a-z_]+)"|[A-Za-z.]+), (?:"([a-z_]+)"|[A-Za-z]+)`)
	if n := len(sourceStrings(t, "../models", audit)); n < 20 {
		t.Fatalf("the scan found only %d audit literals: the pattern is stale", n)
	}
	// return "acknowledge", map… (alerts), Action… = "submit" (exams)
	actionRe := regexp.MustCompile(`(?m)return "([a-z_]+)", (?:map|nil|cols)`)
	var keys []string
	for _, m := range audit.FindAllStringSubmatch(strings.Join(readAll(t, "../models"), "\n"), -1) {
		if m[1] != "" {
			keys = append(keys, "audit.action."+m[1])
		}
		if m[2] != "" {
			keys = append(keys, "audit.entity."+m[2])
		}
	}
	for _, a := range sourceStrings(t, "../models", actionRe) {
		keys = append(keys, "audit.action."+a)
	}
	for _, a := range sourceStrings(t, "../models", regexp.MustCompile(`(?m)^\s+Action[A-Z][a-z]+ += "([a-z_]+)"`)) {
		keys = append(keys, "audit.action."+a)
	}
	for _, a := range sourceStrings(t, "../models", regexp.MustCompile(`action(?:, [a-z]+)? :?= "([a-z_]+)"|, action = [^,]+, "([a-z_]+)"`)) {
		keys = append(keys, "audit.action."+a)
	}
	for _, e := range sourceStrings(t, "../models", regexp.MustCompile(`AuditEntity += "([a-z_]+)"`)) {
		keys = append(keys, "audit.entity."+e)
	}
	for _, j := range sourceStrings(t, "../scheduler", regexp.MustCompile(`(?m)^\s*Job[A-Za-z]+ += "([a-z_]+)"|const Job[A-Za-z]+ = "([a-z_]+)"`)) {
		keys = append(keys, "job.name."+j)
	}
	for _, o := range sourceStrings(t, "../models", regexp.MustCompile(`(?m)^\s*Run[A-Z][A-Za-z]+ += "([a-z_]+)"`)) {
		keys = append(keys, "job.outcome."+o)
	}
	for _, k := range []string{"audit.action.grant", "audit.entity.homework_item", "job.name.heartbeat", "job.outcome.ok", "audit.action.approve", "audit.action.return"} {
		found := false
		for _, x := range keys {
			found = found || x == k
		}
		if !found {
			t.Fatalf("the source scan no longer finds %s: the patterns are stale", k)
		}
	}
	var missing []string
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := zh[k]; !ok && !seen[k] {
			missing = append(missing, k)
		}
		seen[k] = true
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("internal keys without a name in the catalogs:\n%s", strings.Join(missing, "\n"))
	}
}

func readAll(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestEnumNamesInternalValues: the template helper gives the catalog's name.
func TestEnumNamesInternalValues(t *testing.T) {
	zh := NewTranslator("zh-CN")
	if got := zh.Enum("audit.action", "create"); got != "新建" {
		t.Fatalf("Enum(audit.action, create) = %q", got)
	}
	if got := NewTranslator("en").Enum("job.outcome", "ok"); got != "done" {
		t.Fatalf("Enum(job.outcome, ok) = %q", got)
	}
}

func TestUntranslatedFindsKeysAndTokens(t *testing.T) {
	for text, want := range map[string]int{
		"审计日志 新建 学校 teacher.hz1 4-1":        0,
		"审计日志 admin.audit.title":            1,
		"授权范围 school:15":                    1,
		"预警规则 as.enrolled_pct 低于 95%":       1,
		"角色 head_teacher":                   1,
		"Sign in with parent.hz1 at 17:30.": 0,
	} {
		if got := Untranslated(text); len(got) != want {
			t.Errorf("Untranslated(%q) = %v, want %d", text, got, want)
		}
	}
}
