"""The welfare domain: needs, resources, stations and campaigns, with no I/O."""
