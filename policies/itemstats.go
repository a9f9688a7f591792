package policies

import (
	"math"
	"sort"
)

// Item analysis from imported item scores, so a school can calibrate its
// difficulty estimates (EX-12). Classical test theory:
//   - P (difficulty) = mean item score ÷ full marks of the item;
//   - D (discrimination) = P of the upper group − P of the lower group, the
//     groups being the top and bottom GroupShare (27%, Kelley) of students
//     by total score;
//   - Cronbach's α = k/(k−1) · (1 − Σ var(item) / var(total)).

// KelleyShare is the conventional share of each extreme group (27%).
const KelleyShare = 0.27

// ItemStat is the analysis of one item.
type ItemStat struct {
	Number     int     `json:"number"` // 1-based
	FullMarks  float64 `json:"full_marks"`
	P          float64 `json:"p"`
	D          float64 `json:"d"`
	PredictedP float64 `json:"predicted_p"`
	Band       string  `json:"band"`        // predicted band
	ActualBand string  `json:"actual_band"` // band of the actual P
}

// BandStat compares predicted and actual P over the items of one predicted band.
type BandStat struct {
	Band       string  `json:"band"`
	Items      int     `json:"items"`
	PredictedP float64 `json:"predicted_p"`
	ActualP    float64 `json:"actual_p"`
}

// ItemAnalysis is the analysis of a paper's results.
type ItemAnalysis struct {
	Students   int        `json:"students"`
	Items      []ItemStat `json:"items"`
	Alpha      float64    `json:"alpha"`
	PaperP     float64    `json:"paper_p"`
	PredictedP float64    `json:"predicted_p"`
	Bands      []BandStat `json:"bands"`
	GroupSize  int        `json:"group_size"`
}

// ItemP is an item's difficulty: mean score ÷ full marks.
func ItemP(scores []float64, full float64) float64 {
	if len(scores) == 0 || full <= 0 {
		return 0
	}
	s := 0.0
	for _, x := range scores {
		s += x
	}
	return s / float64(len(scores)) / full
}

// GroupSize is the size of each extreme group for n students: share·n
// rounded, at least 1, at most n/2.
func GroupSize(n int, share float64) int {
	g := int(math.Round(share * float64(n)))
	if g < 1 {
		g = 1
	}
	if g > n/2 && n >= 2 {
		g = n / 2
	}
	return g
}

// Discrimination is D for every item: scores[s][i] is student s's score on
// item i. Students are ranked by total score (ties keep input order); the
// ranking is used for this statistic only and is never shown (EX-06).
func Discrimination(scores [][]float64, full []float64, share float64) ([]float64, int) {
	n := len(scores)
	out := make([]float64, len(full))
	if n < 2 {
		return out, 0
	}
	idx := make([]int, n)
	tot := make([]float64, n)
	for s := range scores {
		idx[s] = s
		for _, x := range scores[s] {
			tot[s] += x
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return tot[idx[a]] > tot[idx[b]] })
	g := GroupSize(n, share)
	upper, lower := idx[:g], idx[n-g:]
	for i := range full {
		if full[i] <= 0 {
			continue
		}
		var u, l float64
		for _, s := range upper {
			u += scores[s][i]
		}
		for _, s := range lower {
			l += scores[s][i]
		}
		out[i] = (u - l) / float64(g) / full[i]
	}
	return out, g
}

func variance(xs []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= n
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return v / (n - 1)
}

// CronbachAlpha is α of scores[s][i] (k ≥ 2 items, n ≥ 2 students); 0 when
// the totals do not vary.
func CronbachAlpha(scores [][]float64) float64 {
	n := len(scores)
	if n < 2 || len(scores[0]) < 2 {
		return 0
	}
	k := len(scores[0])
	sumVar := 0.0
	col := make([]float64, n)
	for i := 0; i < k; i++ {
		for s := range scores {
			col[s] = scores[s][i]
		}
		sumVar += variance(col)
	}
	tot := make([]float64, n)
	for s := range scores {
		for _, x := range scores[s] {
			tot[s] += x
		}
	}
	vt := variance(tot)
	if vt == 0 {
		return 0
	}
	kf := float64(k)
	return kf / (kf - 1) * (1 - sumVar/vt)
}

// AnalyseItems analyses a paper's item scores against its predicted difficulty.
func AnalyseItems(items []PaperItem, scores [][]float64, rules PaperRules, share float64) ItemAnalysis {
	full := make([]float64, len(items))
	for i, it := range items {
		full[i] = it.Points
	}
	d, g := Discrimination(scores, full, share)
	a := ItemAnalysis{Students: len(scores), Alpha: CronbachAlpha(scores), GroupSize: g}
	col := make([]float64, len(scores))
	var fullSum, actualSum, predSum float64
	type acc struct {
		n          int
		pts, pr, a float64
	}
	bands := map[string]*acc{}
	for i, it := range items {
		for s := range scores {
			col[s] = scores[s][i]
		}
		p := ItemP(col, it.Points)
		pp := rules.PredictedP(it)
		st := ItemStat{Number: i + 1, FullMarks: it.Points, P: p, D: d[i], PredictedP: pp, Band: it.Band(), ActualBand: BandOf(p)}
		a.Items = append(a.Items, st)
		fullSum += it.Points
		actualSum += p * it.Points
		predSum += pp * it.Points
		b := bands[st.Band]
		if b == nil {
			b = &acc{}
			bands[st.Band] = b
		}
		b.n++
		b.pts += it.Points
		b.pr += pp * it.Points
		b.a += p * it.Points
	}
	if fullSum > 0 {
		a.PaperP, a.PredictedP = actualSum/fullSum, predSum/fullSum
	}
	for _, name := range Bands {
		if b := bands[name]; b != nil && b.pts > 0 {
			a.Bands = append(a.Bands, BandStat{Band: name, Items: b.n, PredictedP: b.pr / b.pts, ActualP: b.a / b.pts})
		}
	}
	return a
}
