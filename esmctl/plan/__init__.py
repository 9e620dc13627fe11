"""Plans: the typed vocabulary (types), the spec's planner (planner), pause and resume's planner (pauses), and
the codec that alone turns a plan into JSON and back (codec). execute.Executor carries any of them out."""
