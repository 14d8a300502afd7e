"""Renderers: each reads the results model (`grader.outcome`) and nothing else, one module per format."""
