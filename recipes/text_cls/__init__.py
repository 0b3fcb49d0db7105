"""Text classification: tables or class folders of texts -> a subword tokenizer and a small encoder."""
