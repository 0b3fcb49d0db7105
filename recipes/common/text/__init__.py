"""Text parts shared by text-cls and token-cls: the subword tokenizer, line and request reading (torch-free, shipped
in the services) and the Transformer encoder layers."""
