"""The format-neutral document layer: what people wrote in a rule sheet and how a rule sheet is laid out."""
