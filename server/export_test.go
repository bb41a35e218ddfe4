package server

// DocumentedRoutes returns the routes routeDocs and openAIRoutes
// document, "METHOD /path".
func DocumentedRoutes() []string {
	out := make([]string, 0, len(routeDocs)+len(openAIRoutes))
	for r := range routeDocs {
		out = append(out, r)
	}
	for r := range openAIRoutes {
		out = append(out, r)
	}
	return out
}
