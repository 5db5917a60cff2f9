"""Customer success: account health (an event-sourced, explainable score from the account's signals), and the
signals it is computed from."""
