"""Rendering a graded submission for people: HTML pages, the class overview, the timeline, Chrome traces."""
