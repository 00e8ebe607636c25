"""One module per command: parse the options, call one flow, render its outcome."""
