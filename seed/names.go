package seed

import "math/rand/v2"

var surnames = []rune("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
var givenChars = []rune("子涵欣怡梓轩浩宇一诺雨桐宇轩思彤可馨佳怡明轩梓萱俊杰博文嘉怡晨阳诗涵文博皓轩雅琪欣妍若曦天佑子墨书瑶梦琪静怡家豪志强建华秀英桂兰丽华海燕玉兰志明春梅国强红梅晓东")

// personName makes a deterministic two- or three-character Chinese name.
func personName(r *rand.Rand) string {
	n := []rune{surnames[r.IntN(len(surnames))]}
	k := 1 + r.IntN(2)
	for i := 0; i < k; i++ {
		n = append(n, givenChars[r.IntN(len(givenChars))])
	}
	return string(n)
}
