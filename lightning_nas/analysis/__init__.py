"""What users and benchmarks compute about proxies and answers: rank agreement between two scorings
(`ranking`), and choices under a budget (`budget`): the best feasible arch by a score, the trivial pickers
a search must beat, and the search fitness's capacity term over whole arrays. The NAS-Bench-201 oracle
(constrained optimum, regret) is `lightning_nas.tables.oracle`; comparing two runs' results is
`lightning_nas.search.compare`."""
