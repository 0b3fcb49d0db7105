"""Keyword spotting: short audio clips (class folders or a path,label CSV) to a served classifier."""
