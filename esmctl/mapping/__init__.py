"""The mapping model, pure (no AWS calls), one job a module, each importing only those above it here:

  values     instants, filter patterns, JSON equality, what could not be read
  states     a live mapping's State as facts (settled, meant to run)
  identity   kinds of source, functions, Key (Lambda's rule for a duplicate), consumers, slots
  defaults   what AWS fills in per kind of source, and the canonical form of a configuration
  compare    Mapping (desired or live) and how two differ
  requests   Create/UpdateEventSourceMapping parameters, and what only a new mapping can change
  marks      the tags esmctl writes: hand-off and pause marks, the tag records of a replace
"""
