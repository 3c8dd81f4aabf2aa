"""HTTP plumbing shared by sources and engines: host policy, sessions, error funnel."""
