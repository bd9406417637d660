"""Message catalogues (Babel .po files, German first, English second) and language choice."""
