"""How each source service's events change the briefing's view: one table per service, each row an
event type and the rule that applies it (see `rules` for the kinds of rule)."""
