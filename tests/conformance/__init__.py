"""The conformance corpus: published self-evaluation returns as cases, and their runner."""
