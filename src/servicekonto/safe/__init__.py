"""The document safe: what procedures deposit for a person, their cases, and favourites."""
