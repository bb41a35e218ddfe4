package server

// DocumentedRoutes returns the routes routeDocs documents, "METHOD /path".
func DocumentedRoutes() []string {
	out := make([]string, 0, len(routeDocs))
	for r := range routeDocs {
		out = append(out, r)
	}
	return out
}
