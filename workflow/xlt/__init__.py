"""xlt: a cross-lingual transfer lab for multilingual post-training studies."""

__version__ = "0.1.0"
