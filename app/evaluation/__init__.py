"""The evaluation suite: labelled sets built or read from files, agency pools ranked through the
service layer, same-filter baselines, held-out splits and the ablation of text choices."""
