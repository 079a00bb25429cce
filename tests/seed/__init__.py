"""The seed county's end-to-end tests. A package, so that their one stack (a package-scoped
fixture) stops after them and not at the end of the session."""
