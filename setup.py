"""Packaging that pyproject.toml cannot say: the built-in rubrics ship inside the package.

Course staff edit rubrics in `rubrics/` at the top of the repository (docs/rubrics.md); a wheel
has no repository, so `rubrics/` is also the package `grader.rubrics` (its YAML, JSON Schemas,
reference and wrong solutions as package data). See docs/design.md, "Rubrics in the wheel".
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["grader", "grader.*"]), "grader.rubrics"],
    package_dir={"grader.rubrics": "rubrics"},
    # Package data lives here, not in pyproject.toml: setuptools lets pyproject's table replace this one.
    package_data={
        "grader": ["py.typed", "**/*.json", "**/*.yaml", "**/*.html", "**/*.j2", "**/*.css", "**/*.js"],
        "grader.rubrics": ["*.yaml", "*.json", "*/*.yaml", "*/*.json", "*/*.py", "*/*/*.py", "*/*/*.yaml"],
    },
)
