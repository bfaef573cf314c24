"""The paper's method: LID, profiles, gradient matching, split criteria, min-cut, RSPS training,
evaluation and routing, evolution, and the statistics of a ranking."""
