package bureau

import (
	"testing"

	"jianfu/models"
	"jianfu/views"
)

// TestIndicatorHeaderNamesTheUnitOnce: 「小学三至六年级日均书面作业（分钟）」
// came out as 「…（分钟）（分钟）」; a percentage's CSV value is in percent.
func TestIndicatorHeaderNamesTheUnitOnce(t *testing.T) {
	tr := views.NewTranslator("zh-CN")
	got := indicatorHeader(tr, models.IndicatorDef{MsgID: "indicator.hw.avg_minutes_g3_6", Unit: "minutes"})
	if got != "小学三至六年级日均书面作业（分钟）" {
		t.Errorf("header = %q", got)
	}
	if got := indicatorHeader(tr, models.IndicatorDef{MsgID: "as.ind.enrolled_pct", Unit: "pct"}); got != tr.T("as.ind.enrolled_pct")+"（%）" {
		t.Errorf("pct header = %q", got)
	}
	if v := csvValue(models.IndicatorDef{Unit: "pct"}, 0.9532); v != "95.32" {
		t.Errorf("csv pct = %s, want 95.32", v)
	}
	if v := csvValue(models.IndicatorDef{Unit: "minutes"}, 62.5); v != "62.5" {
		t.Errorf("csv minutes = %s", v)
	}
}

func TestPercentText(t *testing.T) {
	for v, want := range map[float64]string{0.853: "85.3", 1: "100", 0: "0", 0.5: "50", 0.00125: "0.125", 1.2345: "123.45", 0.07: "7", -0.015: "-1.5"} {
		if got := percentText(v); got != want {
			t.Errorf("percentText(%v) = %q, want %q", v, got, want)
		}
	}
	x := 0.1
	x += 0.2 // 0.30000000000000004: the digits move, none is invented or lost
	if got := percentText(x); got != "30.000000000000004" {
		t.Errorf("percentText(%v) = %q", x, got)
	}
}
