"""The refine stage (issue 25; not in the paper, off by default): the search's short list of feasible
candidates (`shortlist`), each trained for a short schedule or looked up in a table of accuracies
(`accuracy`), ranked by validation accuracy (`stage`: refine.csv, results.json's `refined`). Run it with
`--refine.enabled true` on a search, or afterwards with `python -m lightning_nas.refine --run_dir RUN`."""
