"""token-cls: named-entity recognition (CoNLL/JSONL or built-in template sentences) through every stage."""
