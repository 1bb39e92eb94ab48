"""The pure domain core of the hardship service.

Standard library only: rules and money math take plain values and return plain values. It never
reads the clock, the environment, files or a database (see ARCHITECTURE.md, "Rules of the core").
Import the modules directly, e.g. ``from app.domain.money import parse_money``.
"""
