"""A page that loads the real sidebar panel against the real Phoenix routes."""
