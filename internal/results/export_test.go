package results

// Waiting returns how many Saves wait for the group being written.
func (g *Group) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.writing {
		return 0
	}
	return len(g.waiting)
}
