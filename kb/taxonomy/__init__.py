"""The event taxonomy (MISP-style ``kb:event="<value>"`` categories) as analysts see and tune it."""
