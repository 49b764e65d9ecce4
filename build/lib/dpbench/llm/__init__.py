"""Model backends behind one protocol, the response cache and the retry policy."""
