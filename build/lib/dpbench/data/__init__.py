"""Raw review sources, the DuckDB benchmark build, peers, the offline sample and validation."""
