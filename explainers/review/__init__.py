"""Blind forced-choice review studies: which of two explanations do people find more convincing?

Store-agnostic library code (no Streamlit, no database): plain dataclasses and
dicts that any store can persist.

- :mod:`.stats`: Wilson interval, exact binomial (sign) test, Fleiss' and Cohen's kappa.
- :mod:`.design`: conditions, per-reviewer order and sides, opaque trial tokens, trial preparation.
- :mod:`.results`: answers -> summary (preference, agreement, position bias, times), faithfulness, exports.
"""
