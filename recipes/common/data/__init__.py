"""Reading, splitting, caching and storing datasets: what every recipe's preprocess and datamodule share."""
