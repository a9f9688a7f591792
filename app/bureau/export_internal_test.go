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
