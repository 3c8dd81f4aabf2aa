"""Sources turn a reference into planned files, and a planned file into a request for its bytes."""
