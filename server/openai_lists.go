package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// openAIList is the page of a list in OpenAI's API: the objects, the IDs
// of the first and last, and whether more follow in the order asked.
type openAIList[T any] struct {
	Object  string  `json:"object"`
	Data    []T     `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// openAIPage answers a list request of OpenAI's API from all, the whole
// list oldest first: ?order= (asc or desc, default desc), ?after= and
// ?before= (IDs of the list), ?limit= (1..maxLimit, default defLimit).
// id gives an object's ID, and show the object of the answer: it runs for
// the page's objects only.
func openAIPage[T, V any](c echo.Context, all []T, id func(T) string, show func(T) (V, error), defLimit, maxLimit int) error {
	limit := defLimit
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return ragd.Invalid("limit", "limit must be a whole number between 1 and %d, got %q", maxLimit, v)
		}
		limit = n
	}
	switch order := c.QueryParam("order"); order {
	case "", "desc":
		all = slices.Clone(all)
		slices.Reverse(all)
	case "asc":
	default:
		return ragd.Invalid("order", "order must be asc or desc, got %q", order)
	}
	for _, cursor := range []string{"after", "before"} {
		v := c.QueryParam(cursor)
		if v == "" {
			continue
		}
		i := slices.IndexFunc(all, func(x T) bool { return id(x) == v })
		if i < 0 {
			return ragd.Invalid(cursor, "%s=%q is not an id in this list", cursor, v)
		}
		if cursor == "after" {
			all = all[i+1:]
		} else {
			// The page just before the cursor, in the same order.
			all = all[max(0, i-limit):i]
		}
	}
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	page := openAIList[V]{Object: "list", Data: make([]V, len(all)), HasMore: more}
	for i, x := range all {
		var err error
		if page.Data[i], err = show(x); err != nil {
			return err
		}
	}
	if len(all) > 0 {
		first, last := id(all[0]), id(all[len(all)-1])
		page.FirstID, page.LastID = &first, &last
	}
	return c.JSON(http.StatusOK, page)
}

// openAIDeleted is the answer of a DELETE in OpenAI's API.
type openAIDeleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}
