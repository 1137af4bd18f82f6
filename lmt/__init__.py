"""LMT: large multilingual translation on decoder-only LLMs.

The ``lmt`` package holds what every stage shares: the language registry, the
auxiliary-language map, prompt templates, config loading, record schemas, I/O
helpers and the ``lmt`` command. The stage packages (``data_prep``, ``recipes``,
``eval``) import it; it imports none of them.
"""

__version__ = "0.1.0"
