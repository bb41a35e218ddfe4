package eval

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ragd/ragd"
)

// AnswerModel is the model the answer task measures: ragd's offline
// extractive answerer.
const AnswerModel = "ragd-extractive"

// baselineSentences is how many sentences of the top source make the
// baseline answer.
const baselineSentences = 3

// AnswerReport is the outcome of the answer-quality task.
type AnswerReport struct {
	// Model is the embedding model of the collection: ragd's default.
	Model string
	// Answer and Baseline hold per question the word recall and precision
	// (WordOverlap) of the answerer's text and of the baseline against the
	// gold answer.
	Answer, Baseline Overlaps
	// Cited counts the answers whose citations are correct
	// (CitationsCorrect); Uncited those without any citation.
	Cited, Uncited int
	// Time is the mean latency of one RAG request.
	Time time.Duration
}

// Overlaps are per-question word recall and precision.
type Overlaps struct{ Recall, Precision []float64 }

// add appends one question's scores of answer against gold.
func (o *Overlaps) add(answer, gold string) {
	r, p := WordOverlap(answer, gold)
	o.Recall, o.Precision = append(o.Recall, r), append(o.Precision, p)
}

// RunAnswers measures the answer-quality task: it stores every answer as
// an item of one collection of ragd's default model, asks each question
// through POST /v1/chat/completions/RAG with model ragd-extractive and
// the request's default retrieval, and scores the answer's text, its
// citation marks removed, against the question's gold answer. The
// baseline is the first three sentences (SplitSentences) of the top source
// of the same response, so both answer from the same retrieval.
func RunAnswers(ctx context.Context, cfg Config, pairs []Pair) (_ *AnswerReport, err error) {
	if len(pairs) == 0 {
		return nil, ragd.Invalid("pairs", "no question/answer pairs to measure")
	}
	c := cfg.newClient()
	coll, err := c.createCollection(ctx, cfg.collectionName("answers"), "")
	if err != nil {
		return nil, err
	}
	defer func() {
		if derr := c.deleteCollection(context.WithoutCancel(ctx), coll.ID); err == nil {
			err = derr
		}
	}()
	if _, err := c.addAnswers(ctx, coll.ID, pairs); err != nil {
		return nil, err
	}
	rep := &AnswerReport{Model: coll.EmbeddingModel}
	start := time.Now()
	for i, p := range pairs {
		if i%50 == 0 {
			cfg.progress("answers: %d/%d", i, len(pairs))
		}
		text, sources, err := c.ragAnswer(ctx, coll.ID, AnswerModel, p.Question)
		if err != nil {
			return nil, err
		}
		rep.Answer.add(StripCitations(text), p.Answer)
		top := ""
		if len(sources) > 0 {
			top = FirstSentences(sources[0], baselineSentences)
		}
		rep.Baseline.add(top, p.Answer)
		switch {
		case CitationsCorrect(text, sources):
			rep.Cited++
		case !citation.MatchString(text):
			rep.Uncited++
		}
	}
	rep.Time = time.Since(start) / time.Duration(len(pairs))
	return rep, nil
}

// WriteTable prints the answer task's table: mean recall and precision of
// the answerer and of the baseline, and the paired bootstrap interval of
// their difference.
func (r *AnswerReport) WriteTable(w io.Writer) error {
	n := len(r.Answer.Recall)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "gold-answer words\t%s\tfirst %d sentences of top source\tdifference\t95%% CI\t\n", AnswerModel, baselineSentences)
	for _, row := range []struct {
		name     string
		ans, bas []float64
	}{{"recall", r.Answer.Recall, r.Baseline.Recall}, {"precision", r.Answer.Precision, r.Baseline.Precision}} {
		a, b := mean(row.ans), mean(row.bas)
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%+.3f\t%s\t\n", row.name, a, b, a-b, DiffCI(row.ans, row.bas).format("%+.3f"))
	}
	fmt.Fprintf(tw, "citations correct\t%d/%d\t-\t\t\t\n", r.Cited, n)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%d questions, embedding model %s, default retrieval; %d answers without any citation; %s per answer)\n",
		n, r.Model, r.Uncited, r.Time.Round(10*time.Microsecond))
	return err
}
