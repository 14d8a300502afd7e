"""Files put on the student's PYTHONPATH. They are imported by the student's interpreter, not by
the grader: they must not import the `grader` package and must run on any Python 3.8+."""
