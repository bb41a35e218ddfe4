package ragd

import "strings"

// stopwords are common English words that carry no topic.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by can do does did for from has have how i if in into
		is it its me my no not of on or our so than that the their them then there these they this to was we were what
		when where which who whom why will with would you your about also any all more most other some such only own
		same should very just been being had having here there out up down over under again further once am`) {
		stopwords[w] = true
	}
}

// IsStopword reports whether w, lower-cased, is a common English word that
// carries no topic.
func IsStopword(w string) bool { return stopwords[w] }
