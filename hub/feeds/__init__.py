"""Sources of agency events: the police crime replay and synthetic events of the other agencies."""
