"""`tune benchmark`: cells (retrain, time, keep) and the report made from them."""
