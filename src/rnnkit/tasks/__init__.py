"""Applications: one file per task, each an estimator with fit / predict / evaluate /
save / load."""
