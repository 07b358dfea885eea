"""Domain: plain types and rules, no I/O."""
