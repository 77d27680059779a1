"""The two colorization methods (match, net) and what they take besides references: palettes, hints."""
