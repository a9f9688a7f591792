package policies

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func near3(a, b float64) bool { return math.Abs(a-b) < 0.0005 }

// Cronbach's α against a published worked example: Real Statistics, "Cronbach's
// Alpha", Example 1 (a 10-question Likert questionnaire, 15 people; α =
// 0.59172), https://real-statistics.com/reliability/internal-consistency-reliability/cronbachs-alpha/cronbachs-alpha-tools/ .
// The same data ship as pingouin's dataset "cronbach_alpha"
// (github.com/raphaelvallat/pingouin, pingouin/datasets/cronbach_alpha.csv),
// whose documented pg.cronbach_alpha(...) answer is 0.591719. Rows below are
// items Q1..Q10, columns are the 15 people.
func TestCronbachAlphaRealStatisticsExample1(t *testing.T) {
	const data = `3 5 7 2 6 1 4 2 6 5 4 4 5 6 4
2 4 3 4 5 2 3 4 5 4 3 2 5 5 3
4 6 5 3 6 3 5 4 5 6 5 3 6 5 5
1 3 5 3 5 4 3 3 5 4 2 2 2 4 5
4 5 6 2 4 2 5 7 1 3 5 5 3 2 3
5 1 4 2 4 5 2 2 6 5 3 3 3 2 1
1 2 3 2 4 2 1 2 5 3 2 4 2 1 3
4 5 3 6 6 3 2 4 2 1 3 2 4 4 2
3 5 6 6 7 5 4 6 3 7 4 3 4 6 3
2 5 5 3 5 2 3 5 2 2 1 4 5 5 4`
	items := strings.Split(data, "\n")
	scores := make([][]float64, 15)
	for i, line := range items {
		for s, f := range strings.Fields(line) {
			x, _ := strconv.ParseFloat(f, 64)
			scores[s] = append(scores[s], x)
		}
		_ = i
	}
	if got := CronbachAlpha(scores); !near3(got, 0.59172) {
		t.Fatalf("alpha %.5f, want 0.592 (Real Statistics Example 1: 0.59172)", got)
	}
}

// P and D against a published worked example: "Item Analysis Worksheet" with
// answers (ten students, ten questions, 1 = correct; upper and lower groups
// are the top and bottom five students), https://studylib.net/doc/25270846/item-anaylsis-
// (a later copy at https://www.scribd.com/document/509719271/ItemAnaEx-Ans
// changes Ricky's row and updates D but not P, so its P column disagrees with
// its own counts for questions 5 and 9; the studylib copy is consistent). The worksheet uses
// halves (group share 0.5) rather than Kelley's 27%; the formula D = P_upper −
// P_lower is the same, only the group share differs. No published 27% worked
// example with raw per-student data was found; GroupSize covers the 27% size.
func TestDifficultyAndDiscriminationWorksheet(t *testing.T) {
	rows := []string{ // Joe, Dave, Sujie, Darrell, Eliza, Zoe, Grace, Hannah, Ricky, Anita
		"1111111111", "1111111101", "1101111100", "0111110101", "1110111001",
		"1110110100", "0110110101", "0111001010", "1110100001", "0100010010",
	}
	scores := make([][]float64, len(rows))
	for s, r := range rows {
		for _, c := range r {
			scores[s] = append(scores[s], float64(c-'0'))
		}
	}
	full := make([]float64, 10)
	for i := range full {
		full[i] = 1
	}
	wantP := []float64{0.6, 1.0, 0.8, 0.5, 0.8, 0.8, 0.5, 0.6, 0.3, 0.6}
	wantD := []float64{0.4, 0, 0, 0.6, 0.4, 0.4, 0.6, 0.4, -0.2, 0.4}
	d, g := Discrimination(scores, full, 0.5)
	if g != 5 {
		t.Fatalf("group size %d, want 5", g)
	}
	col := make([]float64, len(rows))
	for i := range full {
		for s := range scores {
			col[s] = scores[s][i]
		}
		if p := ItemP(col, 1); !near3(p, wantP[i]) {
			t.Errorf("question %d: P %.3f, want %.3f", i+1, p, wantP[i])
		}
		if !near3(d[i], wantD[i]) {
			t.Errorf("question %d: D %.3f, want %.3f", i+1, d[i], wantD[i])
		}
	}
}

func TestGroupSize(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{100, 27}, {40, 11}, {30, 8}, {10, 3}, {3, 1}, {2, 1}} {
		if got := GroupSize(tc.n, KelleyShare); got != tc.want {
			t.Errorf("27%% of %d: %d, want %d", tc.n, got, tc.want)
		}
	}
}

// Polytomous items: P is the mean ÷ full marks, D the difference of group
// means ÷ full marks; predicted vs actual per band.
func TestAnalyseItemsPolytomous(t *testing.T) {
	items := []PaperItem{
		{Points: 4, Difficulty: BandEasy, WithinStandard: true},
		{Points: 10, Difficulty: BandHard, WithinStandard: true},
	}
	scores := [][]float64{{4, 10}, {4, 6}, {3, 4}, {2, 0}}
	a := AnalyseItems(items, scores, DefaultPaperRules(), 0.25) // groups of 1
	if !near3(a.Items[0].P, 13.0/16) || !near3(a.Items[1].P, 0.5) {
		t.Fatalf("P %+v", a.Items)
	}
	if !near3(a.Items[0].D, 0.5) || !near3(a.Items[1].D, 1) {
		t.Fatalf("D %+v", a.Items)
	}
	if a.Items[1].ActualBand != BandMedium || a.Bands[1].Band != BandHard || !near3(a.Bands[1].ActualP, 0.5) || !near3(a.Bands[1].PredictedP, 0.25) {
		t.Fatalf("bands %+v items %+v", a.Bands, a.Items)
	}
	if !near3(a.PaperP, 8.25/14) {
		t.Errorf("paper P %.3f", a.PaperP)
	}
}
