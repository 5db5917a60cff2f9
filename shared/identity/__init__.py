"""Who the hub's people are to its functions: what their Cognito tokens say about them."""
