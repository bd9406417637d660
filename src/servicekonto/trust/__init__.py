"""Trust levels (Vertrauensniveau): pure rules, no database, used by every protocol and page."""
