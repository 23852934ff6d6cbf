"""A synthetic creator economy with hidden ground truth: it drives the demo, the benchmarks and
the evaluations through Veri's real ingestion path. Only this package and the evaluation
commands may read the truth (`veri.simulate.truth`); a test enforces it."""
