package cli

import (
	"strings"
)

// closest returns the command that word is a likely misspelling of: a
// letter missing, extra, wrong or two swapped (two such for names of six
// letters or more), or the start of one.
func closest(word string, commands []string) (string, bool) {
	w := strings.ToLower(word)
	best, bestDist := "", -1
	for _, c := range commands {
		if word == c {
			return "", false
		}
		d := distance(w, c)
		limit := 1
		if len(c) >= 6 {
			limit = 2
		}
		if len(w) >= 3 && strings.HasPrefix(c, w) {
			d = 0
		}
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best, bestDist >= 0
}

// distance is the optimal string alignment distance between a and b: the
// fewest insertions, deletions, substitutions and swaps of two neighbours
// that turn one into the other.
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
