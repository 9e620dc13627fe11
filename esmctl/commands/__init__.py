"""One module per command group; each command is a handful of calls on the AWS client."""
