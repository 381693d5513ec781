"""Running the recorded AWS conformance corpus against Sagaway's interpreter."""
