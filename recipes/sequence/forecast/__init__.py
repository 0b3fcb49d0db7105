"""forecast: predict the next values of a series from its recent history."""
