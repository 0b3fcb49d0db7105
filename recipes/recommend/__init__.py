"""Recommendation: an interactions table (who interacted with what, when) to a served top-k recommender."""
