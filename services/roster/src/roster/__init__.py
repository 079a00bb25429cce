"""Roster: find the member drivers and connect them (摸清底数、健全组织体系)."""
