package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"jianfu/models"
	"jianfu/seed"
)

// printMedia switches the tab to the print stylesheet.
func (v *visitor) printMedia() {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, browserStep)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		v.t.Fatalf("print media: %v", err)
	}
}

// TestBrowserPrintAndCalendar: the publicity board and the bureau's school
// page print with their content only (no top bar, menu, forms or buttons);
// a parent's calendar subscription offers webcal:// and a QR code.
func TestBrowserPrintAndCalendar(t *testing.T) {
	e, c := newBrowserEnv(t)
	hidden := `["header.topbar", ".navmenu", "footer", "main form"].map(s => document.querySelector(s)).filter(el => el && getComputedStyle(el).display !== "none").length`
	for _, tc := range []struct{ user, path, want string }{
		{"parent.hz1", fmt.Sprintf("/homework/classes/%d/board", e.Class(e.HZ1().ID, 4, 1).ID), "作业公示"},
		{"bureau.fuxin", fmt.Sprintf("/schools/%d/monitor", e.HZ1().ID), e.HZ1().Name},
	} {
		v := c.visitor(t)
		v.phone()
		v.signIn(tc.user, seed.DemoPassword)
		v.visit(tc.path)
		if v.eval(`document.querySelector("[data-print]") && !document.querySelector("[data-print]").hidden ? "yes" : "no"`) != "yes" {
			t.Errorf("%s: no print button", tc.path)
		}
		v.printMedia()
		if n := run(v, "chrome in print", chromedp.Evaluate[int](hidden)); n != 0 {
			t.Errorf("%s: %d parts of the page chrome still print", tc.path, n)
		}
		if text := v.text(); !strings.Contains(text, tc.want) {
			t.Errorf("%s: the printed page lost its content %q", tc.path, tc.want)
		}
		v.screenshot("print_" + strings.ReplaceAll(strings.Trim(tc.path, "/"), "/", "_"))
	}

	v := c.visitor(t)
	v.phone()
	v.signIn("parent.hz1", seed.DemoPassword)
	v.visit("/exams")
	v.submit(`form[action="/calendar-token"] button`)
	if href := v.eval(`document.querySelector('a[href^="webcal://"]') ? document.querySelector('a[href^="webcal://"]').getAttribute("href") : ""`); !strings.Contains(href, "/cal/") {
		t.Fatalf("no webcal:// link: %q", href)
	}
	if n := run(v, "qr", chromedp.Evaluate[int](`document.querySelectorAll(".qr svg rect, .qr svg path").length`)); n == 0 {
		t.Fatal("no QR code drawn")
	}
	v.screenshot("calendar_subscribe")
}

// TestBrowserPaperEditorOnAPhone: the exam paper editor of a draft exam fits
// a phone, every control has a label, and every select is wide enough to
// show its text (they showed none).
func TestBrowserPaperEditorOnAPhone(t *testing.T) {
	e, c := newBrowserEnv(t)
	// Any exam of the school, back to draft: its paper is editable.
	var ex models.ExamEvent
	e.DB.Where("school_id = ? AND paper_based = ?", e.HZ1().ID, true).First(&ex)
	if ex.ID == 0 {
		t.Fatal("no paper-based exam in the demo")
	}
	e.DB.Model(&models.ExamEvent{}).Where("id = ?", ex.ID).Update("status", models.ExamDraft)
	v := c.visitor(t)
	v.phone()
	v.signIn("academic.hz1", seed.DemoPassword)
	v.visit(fmt.Sprintf("/exams/%d", ex.ID))
	if n := run(v, "items", chromedp.Evaluate[int](`document.querySelectorAll(".paper-item").length`)); n == 0 {
		t.Fatal("no paper editor on the draft exam")
	}
	if un := v.unlabeled(); len(un) > 0 {
		t.Errorf("controls without a label: %v", un)
	}
	if w := v.scrollWidth(); w > phoneWidth {
		t.Errorf("the paper editor scrolls sideways: %d", w)
	}
	if narrow := run(v, "selects", chromedp.Evaluate[int](`Array.from(document.querySelectorAll(".paper-item select")).filter(s => s.clientWidth < 80).length`)); narrow > 0 {
		t.Errorf("%d selects too narrow to show their text", narrow)
	}
	v.screenshot("exam_paper_editor")
}
