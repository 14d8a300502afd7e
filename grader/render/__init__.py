"""Renderers: each reads the results model (`grader.outcome`) and nothing else, one module per format.

HTML pages (`html`, `overview`, `timeline`, written by `write`) and Chrome trace-event files
(`chrome_trace`) for people; CSV, JUnit, Gradescope, Markdown and the terminal for other tools.
"""
