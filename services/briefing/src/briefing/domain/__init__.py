"""The briefing's rules: periods, the figures computed from the projected facts, and the text."""
